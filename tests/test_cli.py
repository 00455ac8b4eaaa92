"""The command line end to end on digits."""

import json
from pathlib import Path

import numpy as np
import pytest

from bench import registry
from bench.detector import Detector
from bench.store import Store
from tests.conftest import registered, run_cli

FAST = ("--methods", "dn2,pyod-knn", "--datasets", "digits", "--classes", "0,1", "--quiet", "--executor", "inline")


def test_run_then_table(results):
    status, out, err = run_cli("run", *FAST, "--seeds", "0,1", "--results", str(results))
    assert status == 0, err
    assert "8 done, 0 skipped, 0 failed" in out and str(results) in out
    records = list(Store(results).records())
    assert len(records) == 8
    record = records[0]
    assert record["status"] == "ok"
    assert set(record["metrics"]) == {"auroc", "auroc_ci", "aupr", "fpr95_anomaly_positive", "fpr95_normal_positive",
                                      "auroc_per_class"}
    assert record["metrics"]["auroc_ci"]["low"] <= record["metrics"]["auroc"] <= record["metrics"]["auroc_ci"]["high"]
    assert len(record["metrics"]["auroc_per_class"]) == 9
    assert set(record["timings"]) == {"data_s", "fit_s", "score_s", "total_s"}
    assert record["sizes"]["train"] > 0 and record["sizes"]["test"] > record["sizes"]["train"]
    assert {"packages", "git_commit", "host", "device", "python"} <= set(record["provenance"])
    assert record["provenance"]["packages"]["torch"]

    status, out, _ = run_cli("table", "--results", str(results))
    assert status == 0
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert any("dn2" in line for line in lines) and any("pyod-knn" in line for line in lines)
    assert "digits" in lines[0] and "rank" in lines[0]

    status, out, _ = run_cli("run", *FAST, "--seeds", "0,1", "--results", str(results))
    assert status == 0 and "0 done, 8 skipped, 0 failed" in out


def test_dry_run_marks_done_and_pending_and_writes_nothing(results):
    run_cli("run", "--methods", "dn2", "--datasets", "digits", "--classes", "0", "--quiet", "--results", str(results))
    before = sorted(p.name for p in results.rglob("*"))
    status, out, _ = run_cli("run", *FAST, "--results", str(results), "--dry-run")
    assert status == 0
    assert out.count("done     digits") == 1 and out.count("pending  digits") == 3
    assert "4 cells: 1 done, 3 pending" in out
    assert sorted(p.name for p in results.rglob("*")) == before


def test_rerun_forces_and_changed_parameter_never_reuses(results):
    args = ("run", "--methods", "dn2", "--datasets", "digits", "--classes", "0", "--quiet", "--results", str(results))
    run_cli(*args)
    status, out, _ = run_cli(*args, "--rerun")
    assert "1 done, 0 skipped" in out
    status, out, _ = run_cli(*args, "--set", "dn2.k=3")
    assert "1 done, 0 skipped" in out
    assert len(list(Store(results).records())) == 2


def test_unknown_method_is_one_line_exit_2_and_writes_nothing(results):
    status, out, err = run_cli("run", "--methods", "nope", "--results", str(results))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "unknown method 'nope'" in err and "bench list methods" in err
    assert not results.exists()


def test_bad_option_is_one_line_exit_2():
    status, _, err = run_cli("run", "--executor", "moon")
    assert status == 2 and len(err.strip().splitlines()) == 1 and "--help" in err


def test_a_missing_gpu_is_a_plan_time_error(results, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    status, _, err = run_cli("run", "--methods", "dn2", "--device", "cuda", "--results", str(results))
    assert status == 2 and "no GPU is visible" in err and not results.exists()
    status, _, err = run_cli("run", "--methods", "dn2", "--device", "tpu", "--results", str(results))
    assert status == 2 and "use cpu, cuda" in err


class Exploding(Detector):
    """Raises in fit."""

    profiles = {"smoke": {}, "paper": {}}

    def fit(self, train, ctx):
        raise RuntimeError("boom")


class NaNScores(Detector):
    """Returns NaN scores."""

    profiles = {"smoke": {}, "paper": {}}

    def fit(self, train, ctx):
        return self

    def score(self, test, ctx):
        return np.full(len(test), np.nan)


def test_failing_cells_are_recorded_and_the_sweep_goes_on(results):
    with registered(registry.methods, "exploding", Exploding), registered(registry.methods, "nan-scores", NaNScores):
        status, out, err = run_cli(
            "run", "--methods", "exploding,nan-scores,dn2", "--datasets", "digits", "--classes", "2",
            "--quiet", "--executor", "inline", "--results", str(results),
        )
    assert status == 1
    assert "1 done, 0 skipped, 2 failed" in out
    failed = {r["cell"]["method"]: r for r in Store(results).records() if r["status"] == "failed"}
    assert failed["exploding"]["error"]["type"] == "RuntimeError" and "boom" in failed["exploding"]["error"]["message"]
    assert "non-finite" in failed["nan-scores"]["error"]["message"]
    assert "Traceback" in failed["exploding"]["error"]["traceback"]
    status, out, err = run_cli("table", "--results", str(results))
    assert status == 0 and "dn2" in out and "2 failed cell(s) left out" in err


def test_local_executor_matches_inline(tmp_path):
    inline, local = tmp_path / "inline", tmp_path / "local"
    args = ("run", "--methods", "dn2,pyod-iforest", "--datasets", "digits", "--classes", "1,8", "--quiet", "--no-cache")
    assert run_cli(*args, "--results", str(inline), "--executor", "inline")[0] == 0
    status, out, err = run_cli(*args, "--results", str(local), "--executor", "local", "--workers", "2")
    assert status == 0, err
    auroc = lambda root: {r["cell"]["key"]: r["metrics"]["auroc"] for r in Store(root).records()}
    assert len(auroc(local)) == 4
    assert auroc(local) == auroc(inline)  # same seeds, same numbers, whatever the executor


def test_table_filters_metric_and_formats(results):
    run_cli("run", *FAST, "--results", str(results))
    status, out, _ = run_cli("table", "--results", str(results), "--methods", "pyod-*", "--metric", "fpr95-normal-positive", "--format", "csv")
    assert status == 0 and "pyod-knn" in out and "dn2" not in out
    status, out, _ = run_cli("table", "--results", str(results), "--per-class", "--format", "latex")
    assert status == 0 and "digits:0" in out and "digits:1" in out
    status, _, err = run_cli("table", "--results", str(results), "--methods", "zzz*")
    assert status == 2 and "no successful records match" in err
    status, _, err = run_cli("table", "--results", str(results), "--methods", "dn3")
    assert status == 2 and "unknown method 'dn3': did you mean 'dn2'" in err
    status, _, err = run_cli("table", "--results", str(results / "empty"))
    assert status == 2 and "run `bench run` first" in err


def test_exclusions_work_in_every_command_as_in_run(results):
    run_cli("run", *FAST, "--results", str(results))
    status, out, _ = run_cli("table", "--results", str(results), "--methods", "all,-pyod-*")
    assert status == 0 and "dn2" in out and "pyod-knn" not in out
    status, out, _ = run_cli("table", "--results", str(results), "--datasets", "embedded,-digits")
    assert status == 2
    status, out, _ = run_cli("list", "methods", "all,-pyod-*,-fitymi*")
    assert status == 0 and "dn2" in out and "pyod" not in out and "fitymi" not in out
    status, out, _ = run_cli("list", "datasets", "embedded,-digits-*")
    assert status == 0 and "digits " in out and "digits-fsde" not in out
    status, out, _ = run_cli("data", "verify", "embedded,-digits-worst")
    assert status == 0 and "digits-fsde: embedded" in out and "digits-worst" not in out


def test_json_files_that_are_not_records_are_reported_never_dropped_silently(results):
    run_cli("run", "--methods", "dn2", "--datasets", "digits", "--classes", "0", "--quiet", "--results", str(results))
    (results / "digits" / "latin1.json").write_bytes("{'é'}".encode("latin-1"))
    (results / "notes.json").write_text("[1, 2]")
    (results / "digits" / "dn2" / "half.json").write_text('{"cell": {"method"')
    for argv in (("table",), ("run", "--methods", "dn2", "--datasets", "digits", "--classes", "0", "--quiet")):
        status, out, err = run_cli(*argv, "--results", str(results))
        assert status == 0, err
        assert f"warning: 3 file(s) under {results} are not readable records and were left out" in err
        assert "latin1.json (not UTF-8 text" in err and "half.json (truncated JSON" in err and "notes.json" in err
        assert "Traceback" not in err and ("dn2" in out or "0 done, 1 skipped" in out)


def test_list_commands():
    status, out, _ = run_cli("list", "methods", "pyod-*")
    assert status == 0 and "pyod-knn" in out and "dn2" not in out and "smoke, paper" in out
    status, out, _ = run_cli("list", "datasets")
    assert status == 0 and "digits" in out and "embedded" in out
    status, out, _ = run_cli("list", "groups")
    assert status == 0 and "pyod" in out and "embedded" in out


def test_same_cell_twice_gives_the_same_auroc(tmp_path):
    args = ("run", "--methods", "dn2", "--datasets", "digits", "--classes", "6", "--seeds", "4", "--quiet", "--no-cache")
    run_cli(*args, "--results", str(tmp_path / "a"))
    run_cli(*args, "--results", str(tmp_path / "b"))
    first, second = (json.loads(next((tmp_path / d).rglob("*.json")).read_text()) for d in "ab")
    assert first["metrics"] == second["metrics"]


def test_auto_executor_pools_many_cpu_cells_only(monkeypatch):
    from bench.executors import choose_executor

    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert choose_executor("auto", cells=8, device="cpu") == "local"
    assert choose_executor("auto", cells=7, device="cpu") == "inline"
    assert choose_executor("auto", cells=100, device="cuda") == "inline"
    assert choose_executor("inline", cells=100, device="cpu") == "inline"
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert choose_executor("auto", cells=100, device="cpu") == "inline"
    assert choose_executor("auto", cells=1, device="cpu", workers=2) == "local"  # --workers asks for the pool


def test_every_executor_comes_from_one_factory():
    from bench.executors import make_executor
    from bench.executors.slurm import SlurmExecutor, SlurmRequest

    assert [make_executor(name).name for name in ("inline", "local")] == ["inline", "local"]
    assert isinstance(make_executor("slurm", slurm=SlurmRequest(results_root=Path("r"))), SlurmExecutor)


@pytest.mark.parametrize("argv, message", [
    (("--executor", "local", "--cluster", "gpu"), "--cluster applies to --executor slurm only"),
    (("--executor", "inline", "--partition", "p"), "--partition applies to --executor slurm only"),
    (("--executor", "local", "--wait"), "--wait applies to --executor slurm only"),
    (("--executor", "inline", "--workers", "2"), "--workers sizes the local executor's pool"),
])
def test_options_of_another_executor_are_one_line_errors(argv, message, results):
    status, out, err = run_cli("run", "--methods", "dn2", "--classes", "0", "--results", str(results), *argv)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err
    assert not results.exists()


def test_a_renamed_method_still_runs_and_says_its_new_name(results):
    status, out, err = run_cli("run", "--methods", "fitymi-wgan", "--classes", "0", "--dry-run", "--results", str(results))
    assert status == 0, err
    assert "warning: method 'fitymi-wgan' is now called 'fitymi-wgan-gp'" in err
    assert "digits/fitymi-wgan-gp/" in out


def test_a_gpu_sized_profile_planned_for_a_cpu_warns(results, monkeypatch, tmp_path):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"PK\x03\x04")  # begins like torch.save's zip archive: all the plan reads
    status, out, err = run_cli("run", "--methods", "dn2", "--profile", "paper", "--set", f"dn2.weights={weights}",
                               "--classes", "0", "--dry-run", "--results", str(results))
    assert status == 0, err
    assert "profile of dn2 is sized for a GPU" in err and "--profile smoke" in err
    status, _, err = run_cli("run", "--methods", "dn2", "--classes", "0", "--dry-run", "--results", str(results))
    assert "sized for a GPU" not in err  # the smoke profile is sized for a CPU


def test_a_resolution_below_what_the_networks_take_is_refused_at_plan_time(results):
    for argv, message in [
        (("--methods", "csi", "--set", "csi.image_size=4"), "need at least 8: --set csi.image_size=8"),
        (("--methods", "deep-svdd", "--set", "deep-svdd.image_size=12"), "multiple of 8"),
        (("--methods", "fitymi-dcgan", "--set", 'fitymi-dcgan.generator_params={"image_size": 12}'),
         "power of two ≥ 8, got 12"),
    ]:
        status, out, err = run_cli("run", *argv, "--classes", "0", "--results", str(results))
        assert status == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not results.exists()


def test_show_prints_the_parameters_of_a_cell_or_a_label(results):
    run_cli("run", "--methods", "dn2", "--datasets", "digits", "--classes", "3", "--quiet", "--results", str(results),
            "--set", "dn2.k=3")
    (record,) = Store(results).records()
    key, method_hash = record["cell"]["key"], record["cell"]["method_hash"]
    status, out, err = run_cli("show", key, "--results", str(results))
    assert status == 0, err
    assert f"cell        {key}" in out and '"k": 3' in out and "status      ok" in out and "fingerprint" in out
    status, out, _ = run_cli("show", f"dn2@smoke#{method_hash[:6]}", "--results", str(results))
    assert status == 0 and f"dn2@smoke#{method_hash[:6]} (1 record(s): classes 3; seeds 0)" in out and '"k": 3' in out
    status, out, _ = run_cli("show", "dn2@paper", "--results", str(results))
    assert status == 0 and "no record under the results root" in out and '"backbone": "resnet152"' in out
    status, out, _ = run_cli("show", "digits", "--results", str(results))
    assert status == 0 and '"test_fraction": 0.5' in out
    status, _, err = run_cli("show", "dn2@smoke#ffffff", "--results", str(results))
    assert status == 2 and "no record of dn2@smoke#ffffff" in err
    status, _, err = run_cli("show", "digits/dn2/nothing/c0-s0", "--results", str(results))
    assert status == 2 and "no record with this key" in err
