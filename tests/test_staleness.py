"""Records that outlive their data or code are stale: `bench run` runs them again, `bench
table` marks them; a docstring or comment edit changes nothing."""

import importlib
import json
import os
import re
import textwrap
import time

import pytest

from bench import registry
from bench.code_identity import code_identity as identity_of
from bench.code_identity import differences, module_digests
from bench.store import Store
from tests import plugins
from tests.conftest import run_cli
from tests.tiny_data import write_category


def aurocs(results) -> dict[str, float]:
    return {r["cell"]["key"]: r["metrics"]["auroc"] for r in Store(results).records()}


# -- code identity ----------------------------------------------------------------------------
def write_package(root, helper_body: str, module_doc: str = "The module.") -> None:
    package = root / "stalepkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text(helper_body)
    (package / "model.py").write_text(textwrap.dedent(f'''\
        """{module_doc}"""
        from stalepkg.helper import scale
        from bench.images import ArrayImages  # nearbench modules are followed too
        from bench.registry import register_method  # plumbing: not followed


        def score(x):
            """Higher is stranger."""
            return scale(x)  # a comment
        '''))
    old = time.time() - 60
    for path in package.iterdir():
        os.utime(path, (old, old))  # not "just written": digests may be remembered
    importlib.invalidate_caches()


def test_module_digests_follow_imports_and_ignore_docs_and_comments(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_package(tmp_path, "def scale(x):\n    return 2 * x\n")
    digests = module_digests(["stalepkg.model"], {"stalepkg", "bench"})
    assert {"stalepkg.model", "stalepkg.helper", "bench.images", "bench.digest"} <= set(digests)
    assert "bench.registry" not in digests and "numpy" not in digests

    write_package(tmp_path, '"""Helpers."""\n\n# doubles\ndef scale(x):\n    """Twice x."""\n\n    return 2 * x  # twice\n',
                  module_doc="The module, documented at length.")
    assert module_digests(["stalepkg.model"], {"stalepkg", "bench"}) == digests

    write_package(tmp_path, "def scale(x):\n    return -2 * x\n")
    changed = module_digests(["stalepkg.model"], {"stalepkg", "bench"})
    assert [name for name in digests if changed[name] != digests[name]] == ["stalepkg.helper"]


def test_fake_trained_methods_carry_their_generator_and_differences_say_what_changed():
    fitymi = identity_of("fitymi", {"generator": "dcgan"})
    assert list(fitymi["generators"]) == ["dcgan"] and "bench.generators.gan" in fitymi["generators"]["dcgan"]["modules"]
    assert identity_of("dn2", {})["generators"] == {}
    assert "bench.metrics:one_class_metrics" in fitymi["evaluation"]
    assert differences(fitymi, fitymi, "fitymi") == []
    edited = json.loads(json.dumps(fitymi))
    edited["generators"]["dcgan"]["modules"]["bench.generators.gan"] = "0" * 16
    edited["method"]["modules"]["bench.knn"] = "0" * 16
    assert differences(edited, fitymi, "fitymi") == [
        "code of fitymi changed (bench.knn)", "code of generator dcgan changed (bench.generators.gan)",
    ]
    assert differences(None, fitymi, "fitymi") == ["made before records named their code"]


# -- data -------------------------------------------------------------------------------------
def test_changed_mvtec_images_are_stale_and_run_again(tmp_path):
    """The issue's reproduction: every test image of a tiny MVTec `bottle` replaced by a copy of
    a training image. A plain `bench run` runs the cell again and prints the new AUROC, the
    one an uncached run gives; `--keep-stale` keeps the old one; `bench table` marks it."""
    data, results = tmp_path / "data", tmp_path / "results"
    write_category(data, "bottle", mode="RGB", shift=3)
    args = ("run", "--methods", "dn2", "--datasets", "mvtec", "--classes", "bottle", "--quiet",
            "--executor", "inline", "--data-root", str(data), "--results", str(results))
    assert run_cli(*args)[0] == 0
    (old,) = aurocs(results).values()

    test_images = sorted((data / "mvtec" / "bottle" / "test").rglob("*.png"))
    for path in test_images:
        path.write_bytes((data / "mvtec" / "bottle" / "train" / "good" / "000.png").read_bytes())
    status, out, err = run_cli(*args, "--keep-stale")
    assert status == 0 and "0 done, 1 skipped" in out and aurocs(results) == {next(iter(aurocs(results))): old}
    status, out, err = run_cli("table", "--results", str(results), "--data-root", str(data))
    assert status == 0 and re.search(r"\| dn2 +\| +[\d.]+‡ \|", out), out
    assert "1 of 1 record(s): data of mvtec class bottle changed" in out

    status, out, err = run_cli(*args)
    assert status == 0, err
    assert "notice: 1 finished cell(s) are stale and run again: data of mvtec class bottle changed (1)" in err
    assert "1 done, 0 skipped" in out
    (new,) = aurocs(results).values()
    status, _, err = run_cli(*args[:-1], str(tmp_path / "uncached"), "--no-cache")
    assert status == 0, err
    assert new == pytest.approx(next(iter(aurocs(tmp_path / "uncached").values()))) and new != old
    table = run_cli("table", "--results", str(results), "--data-root", str(data))[1]
    assert "‡" not in table and re.search(rf"\| dn2 +\| +{100 * new:.1f} \|", table), table


def test_records_of_the_old_schema_are_stale(results):
    args = ("run", "--methods", "dn2", "--datasets", "digits", "--classes", "0", "--quiet", "--executor", "inline",
            "--results", str(results))
    run_cli(*args)
    (path,) = results.rglob("*.json")
    record = json.loads(path.read_text())
    del record["data"], record["code"]
    path.write_text(json.dumps(record))
    status, out, err = run_cli(*args, "--dry-run")
    assert "made before records named their data and code (1)" in err and "stale    digits/dn2" in out


# -- plug-in code and version -------------------------------------------------------------------
@pytest.fixture
def plugin(tmp_path):
    """The `test-gated` plug-in installed (no gate: its cells run straight through)."""
    with pytest.MonkeyPatch.context() as patch:
        plugins.install(tmp_path / "plugins", patch)
        yield tmp_path / "plugins"
    plugins.uninstall()


def edit_plugin(folder, old: str, new: str, path: str | None = None) -> None:
    """Change the installed plug-in's files as an upgrade would, then look for plug-ins again
    (what a new `bench` process does)."""
    target = folder / (path or f"{plugins.MODULE}.py")
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))
    stamp = time.time() - 30  # past the "just written" window: the change is seen by content
    os.utime(target, (stamp, stamp))
    registry.methods.reload()


def test_a_changed_plugin_method_is_stale_and_runs_again(plugin, results):
    args = ("run", "--methods", plugins.METHOD, "--datasets", "digits", "--classes", "0,1", "--quiet",
            "--executor", "inline", "--results", str(results))
    assert run_cli(*args)[0] == 0
    before = aurocs(results)
    record = next(iter(Store(results).records()))
    assert record["code"]["method"]["distribution"] == {"name": plugins.DISTRIBUTION, "version": "0"}
    assert f"{plugins.MODULE}" in record["code"]["method"]["modules"]

    edit_plugin(plugin, "Scores are distances", "Scores, the docstring says, are distances")  # a doc edit
    assert run_cli(*args)[1].count("0 done, 2 skipped") == 1

    edit_plugin(plugin, "return np.linalg.norm(pixels(test) - self.mean_, axis=1)",
                "return -np.linalg.norm(pixels(test) - self.mean_, axis=1)")  # the sign flipped
    status, out, err = run_cli(*args)
    assert status == 0, err
    assert f"2 finished cell(s) are stale and run again: code of {plugins.METHOD} changed ({plugins.MODULE}) (2)" in err
    after = aurocs(results)
    assert after.keys() == before.keys()
    assert all(after[key] == pytest.approx(1 - before[key]) for key in before)

    edit_plugin(plugin, "Version: 0", "Version: 1", path=f"{plugins.DISTRIBUTION}-0.dist-info/METADATA")
    status, out, err = run_cli(*args)
    assert f"{plugins.METHOD} distribution {plugins.DISTRIBUTION} 0 → {plugins.DISTRIBUTION} 1 (2)" in err
    assert "2 done, 0 skipped" in out


def test_records_of_an_uninstalled_plugin_are_unchecked_not_stale(results):
    run_cli("run", "--methods", "dn2", "--datasets", "digits", "--classes", "0", "--quiet", "--executor", "inline",
            "--results", str(results))
    (path,) = results.rglob("*.json")
    record = json.loads(path.read_text())
    record["cell"]["method"] = "gone-plugin"
    path.write_text(json.dumps(record))
    status, out, err = run_cli("table", "--results", str(results))
    assert status == 0 and "gone-plugin" in out and "‡" not in out
    assert "1 record(s) could not be checked for staleness: method gone-plugin is not installed (1)" in err
    assert run_cli("table", "--results", str(results), "--methods", "gone-*")[0] == 0


def test_code_identity_parses_each_module_once(monkeypatch):
    import ast

    identity_of("fitymi", {"generator": None})
    parses = []
    real = ast.parse
    monkeypatch.setattr(ast, "parse", lambda *a, **k: parses.append(a) or real(*a, **k))
    identity_of("fitymi", {"generator": None})
    assert parses == []  # the sources did not change: nothing is read or parsed again
