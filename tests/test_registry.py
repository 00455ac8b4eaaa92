import importlib
import os
import subprocess
import sys
import textwrap

import pytest

from bench import registry
from bench.benchmark import Benchmark
from bench.detector import Detector
from bench.errors import UserError
from tests.conftest import registered


class Dummy(Detector):
    """A dummy method for registry tests."""

    profiles = {"smoke": {}, "paper": {}}

    def __init__(self, *, alpha: float = 1.0):
        self.alpha = alpha


def test_builtin_methods_and_datasets_are_registered():
    assert {"dn2", "pyod-knn", "pyod-iforest", "pyod-ecod", "pyod-ocsvm"} <= set(registry.methods.names())
    assert "digits" in registry.datasets.names()


def test_every_method_has_smoke_and_paper_profiles():
    for entry in registry.methods.entries():
        assert {"smoke", "paper"} <= set(entry.factory.profiles), entry.name


def test_select_by_name_glob_group_and_exclusion():
    pyod = registry.methods.select("pyod-*")
    assert pyod and all(name.startswith("pyod-") for name in pyod)
    assert registry.methods.select("dn2,pyod-knn") == ["dn2", "pyod-knn"]
    assert set(registry.methods.select("pyod")) == set(pyod)
    assert registry.methods.select("all") == registry.methods.names()
    assert "pyod-knn" not in registry.methods.select("all,-pyod-knn")
    assert registry.methods.select("-pyod-knn") == registry.methods.select("all,-pyod-knn")  # `--methods=-pyod-knn`
    assert registry.methods.select("pyod-knn,dn2,knn") == ["pyod-knn", "dn2"] + [
        m for m in registry.methods.groups()["knn"] if m not in ("dn2", "pyod-knn")
    ]  # order kept, no repeats
    assert registry.datasets.select("embedded") == ["digits", "digits-fsde", "digits-fsgan", "digits-worst"]


def test_names_sort_naturally():
    assert registry.natural_key("resnet9") < registry.natural_key("resnet10")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("dn", "did you mean 'dn2'"),
        ("nope", "the closest are"),
        ("zz*", r"no method matches 'zz\*'"),
        ("dn2,-dn2", "selects no method"),
        (" , ", "no method named"),
    ],
)
def test_select_errors_name_the_fix(spec, message):
    with pytest.raises(UserError, match=message):
        registry.methods.select(spec)


def test_registering_twice_raises():
    with registered(registry.methods, "dummy-twice", Dummy):
        with pytest.raises(ValueError, match="registered twice"):
            registry.methods.register("dummy-twice")(Dummy)


def test_registration_checks_profiles_and_parameters():
    class NoPaper(Detector):
        profiles = {"smoke": {}}

    class BadParam(Detector):
        profiles = {"smoke": {"beta": 2}, "paper": {}}

        def __init__(self, *, alpha=1):
            self.alpha = alpha

    with pytest.raises(TypeError, match="no paper profile"):
        registry.methods.register("no-paper")(NoPaper)
    with pytest.raises(TypeError, match="no parameter beta"):
        registry.methods.register("bad-param")(BadParam)
    with pytest.raises(TypeError, match="not a bench.detector.Detector"):
        registry.methods.register("not-a-detector")(object)
    with pytest.raises(ValueError, match="lower-case"):
        registry.methods.register("Bad Name")
    assert "no-paper" not in registry.methods.names()


def test_dataset_registration_needs_classes():
    class NoClasses(Benchmark):
        pass

    with pytest.raises(TypeError, match="declares no classes"):
        registry.datasets.register("no-classes")(NoClasses)


PLUGIN = textwrap.dedent(
    '''
    from bench.detector import Detector
    from bench.registry import register_method

    @register_method("plugin-zero", groups=("plugins",))
    class Zero(Detector):
        """A third-party plug-in that scores every image 0."""
        profiles = {"smoke": {}, "paper": {}}
    '''
)


@pytest.fixture
def plugin_path(tmp_path):
    """A fake installed distribution whose entry point registers `plugin-zero`."""
    (tmp_path / "zero_plugin.py").write_text(PLUGIN)
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    info = tmp_path / "zero_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zero-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[nearbench.methods]\nplugin-zero = zero_plugin\nbroken = broken_plugin\n"
    )
    return tmp_path


def test_entry_point_plugin_is_found_and_broken_one_skipped(plugin_path):
    sys.path.insert(0, str(plugin_path))
    importlib.invalidate_caches()
    try:
        with pytest.warns(UserWarning, match="skipping method plug-in 'broken'"):
            registry.methods.reload()
        assert "plugin-zero" in registry.methods.names()
        assert registry.methods.select("plugins") == ["plugin-zero"]
        assert registry.methods.get("plugin-zero").description.startswith("A third-party plug-in")
        with pytest.warns(UserWarning, match="broken"):
            registry.methods.reload()  # a plug-in module that registers on import does so again
        assert "plugin-zero" in registry.methods.names()
    finally:
        sys.path.remove(str(plugin_path))
        sys.modules.pop("zero_plugin", None)
        registry.methods.reload()
    assert "plugin-zero" not in registry.methods.names()


def test_bench_list_shows_entry_point_plugin_without_importing_torch(plugin_path):
    probe = (
        "import sys; from bench.cli import main; status = main(['list', 'methods']); "
        "assert 'torch' not in sys.modules, 'listing imported torch'; sys.exit(status)"
    )
    env = {**os.environ, "PYTHONPATH": str(plugin_path), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "plugin-zero" in result.stdout and "dn2" in result.stdout
