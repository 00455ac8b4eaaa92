"""The Python API: the README's notebook example runs; Python values in, the same checks out."""

import sys

import pandas as pd
import pytest

import bench
from bench.errors import UserError
from tests.test_readme import example


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_notebook"}
    exec(compile(example("notebook.py"), "README:notebook.py", "exec"), namespace)
    df, board, everything = namespace["df"], namespace["board"], namespace["everything"]
    assert set(df.method) == {"dn2", "pyod-knn"} and set(df.normal_class) == {0, 1} and set(df.seed) == {0}
    assert list(board.index) == ["dn2", "pyod-knn"] or list(board.index) == ["pyod-knn", "dn2"]
    auroc = df[(df.metric == "auroc") & (df.method == "dn2")].value.mean()
    assert board.loc["dn2", ("digits", "mean")] == pytest.approx(100 * auroc)  # percent
    assert board.loc["dn2", ("digits", "complete")] and board.loc["dn2", ("digits", "pairs")] == 2
    assert len(everything) == len(df)  # the same records, read back from the results root
    assert {"metric", "value", "key", "ci_low", "ci_high"} <= set(everything.columns)


def test_python_values_and_the_same_errors_as_the_command_line(tmp_path):
    results = str(tmp_path / "results")
    with pytest.raises(UserError, match="unknown method 'dn3'"):
        bench.run(methods=["dn3"], classes=[0], results=results)
    with pytest.raises(UserError, match="--classes '42' is not a class of digits"):
        bench.run(methods="dn2", classes=[42], results=results)
    with pytest.raises(UserError, match="DN2 has no parameter kk"):
        bench.run(methods="dn2", classes=[0], params={"dn2": {"kk": 3}}, results=results)
    df = bench.run(methods=["dn2"], classes=["3"], seeds=7, params={"dn2.k": 3}, results=results, progress=False)
    assert set(df.class_name) == {"3"} and set(df.seed) == {7}
    with pytest.raises(UserError, match="metric 'auc'"):
        bench.leaderboard(df, metric="auc")
    assert isinstance(bench.leaderboard(df, "aupr", per_class=True), pd.DataFrame)
    assert bench.UserError is UserError
    for mistake, message in (({"methods": 5}, "methods must be"), ({"classes": None}, "classes must be"),
                             ({"params": "dn2.k=3"}, "params must be"), ({"workers": "2"}, "workers must be"),
                             ({"cache": "no"}, "cache must be True or False"), ({"results": 5}, "results must be")):
        with pytest.raises(UserError, match=message):
            bench.run(**{"methods": "dn2", "classes": [0], "results": results, **mistake})


def test_import_bench_stays_light():
    import subprocess

    probe = ("import sys, bench; assert callable(bench.records) and callable(bench.run); "
             "heavy = [m for m in ('torch', 'pandas') if m in sys.modules]; assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
