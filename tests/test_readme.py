"""The README's examples run as written, and CI runs the README's test command."""

import csv
import io
import re
from pathlib import Path

import pytest

from bench import registry
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def example(path: str) -> str:
    blocks = re.findall(r"```python\n(# (\S+)\n.*?)```", README, flags=re.S)
    return next(code for code, name in blocks if name == path)


@pytest.fixture
def readme_plugins():
    for path in ("methods/mean_distance.py", "datasets/noise.py"):
        exec(compile(example(path), f"README:{path}", "exec"), {"__name__": f"readme_{Path(path).stem}"})
    yield
    registry.methods.unregister("mean-distance")
    registry.datasets.unregister("noise-vs-stripes")


def test_readme_method_and_dataset_examples_run(readme_plugins, results):
    status, out, err = run_cli(
        "run", "--methods", "mean-distance,dn2", "--datasets", "noise-vs-stripes,digits", "--classes", "0",
        "--quiet", "--executor", "inline", "--results", str(results),
    )
    assert status == 0, err
    assert "4 done" in out
    status, out, _ = run_cli("table", "--results", str(results), "--datasets", "noise-vs-stripes", "--format", "csv")
    rows = {row["method"]: row for row in csv.DictReader(io.StringIO(out))}
    assert float(rows["mean-distance"]["mean"]) > 0.99  # a bright stripe is far from the mean noise image


def test_ci_runs_the_readme_test_command():
    command = re.search(r"The tests .*?```bash\n(.+?)\n```", README, flags=re.S).group(1).strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_readme_quickstart_is_install_run_table():
    assert "pip install -e . && bench run && bench table" in README


def test_readme_plugin_conformance_example_runs(tmp_path):
    """The README's pytest example checks the README's method and dataset, as a plug-in
    author would run it: in a package of their own, under a pytest of its own."""
    import os
    import subprocess
    import sys

    from bench.testing import DATASET_CHECKS, METHOD_CHECKS

    package = tmp_path / "my_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "my_method.py").write_text(example("methods/mean_distance.py"))
    (package / "my_dataset.py").write_text(example("datasets/noise.py"))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_my_plugins.py").write_text(example("tests/test_my_plugins.py"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_my_plugins.py"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed, skipped = re.search(r"(\d+) passed(?:, (\d+) skipped)? in", result.stdout).groups()
    assert int(passed) + int(skipped or 0) == len(METHOD_CHECKS) + len(DATASET_CHECKS), result.stdout
    assert "FAILED" not in result.stdout and "ERROR" not in result.stdout
    assert "test_my_method[mean-distance-check_obvious_anomaly_scores_higher] PASSED" in result.stdout
    assert "test_my_dataset[noise-vs-stripes-check_train_holds_no_anomalous_test_image] PASSED" in result.stdout


def test_the_reproduce_fitymi_commands_are_valid_command_lines():
    """Every `bench` command of the README's FITYMI recipe parses (its names resolve too)."""
    import shlex

    from bench.cli import build_parser
    from bench.plan import select

    section = README.split("## Reproduce FITYMI", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].split(">")[0].strip()  # comments and redirections are the shell's
                for block in re.findall(r"```bash\n(.+?)```", section, flags=re.S)
                for line in block.replace("\\\n", " ").splitlines() if line.strip().startswith("bench ")]
    assert {shlex.split(c)[1] for c in commands} >= {"prepare", "run", "status", "table", "report"}
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])
        if args.command in ("run", "prepare"):
            select(args.methods, args.datasets, profile=args.profile)
