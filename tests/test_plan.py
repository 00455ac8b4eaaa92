from pathlib import Path

import numpy as np
import pytest

from bench import registry
from bench.benchmark import Benchmark
from bench.detector import Detector
from bench.requirements import Requirement
from bench.errors import UserError
from bench.plan import Override, make_plan
from tests.conftest import registered, run_cli


class OnDisk(Benchmark):
    """A benchmark whose files are never there."""

    classes = ("a", "b")
    folder = "ondisk"
    files = ("train.bin", "test.bin")


class NeedsWeights(Detector):
    """A method whose paper profile needs a weights file."""

    profiles = {"smoke": {"weights": "none"}, "paper": {"weights": "/nonexistent/model.pth"}}

    def __init__(self, *, weights: str = "none"):
        self.weights = weights

    @classmethod
    def requirements(cls, params, ctx):
        if params["weights"] == "none":
            return []
        return [Requirement("weights of needs-weights", Path(params["weights"]), "ask its authors", param="weights")]


@pytest.fixture
def ondisk():
    with registered(registry.datasets, "ondisk", OnDisk, groups=("testgroup",)):
        yield


def test_plan_expands_methods_datasets_classes_seeds():
    plan = make_plan("dn2,pyod-knn", "digits", classes="0,3", seeds="0,1,2")
    assert len(plan.cells) == 2 * 2 * 3
    assert {(c.method, c.normal_class, c.seed) for c in plan.cells} == {
        (m, c, s) for m in ("dn2", "pyod-knn") for c in (0, 3) for s in (0, 1, 2)
    }
    assert all(c.profile == "smoke" and c.dataset == "digits" for c in plan.cells)


def test_default_plan_is_every_runnable_method_on_digits_smoke():
    plan = make_plan()
    # fitymi-bank and panda-oe need a bank file and an outlier folder only their user can provide:
    # reached through `all`, they are skipped
    assert set(plan.skipped_methods) == {"fitymi-bank", "panda-oe"}
    assert "bank_path" in plan.skipped_methods["fitymi-bank"]
    assert {c.method for c in plan.cells} == set(registry.methods.names()) - {"fitymi-bank", "panda-oe"}
    assert {c.dataset for c in plan.cells} == {"digits"}
    assert len({c.key for c in plan.cells}) == len(plan.cells)


def test_a_named_method_missing_its_bank_is_an_error(tmp_path):
    with pytest.raises(UserError, match="fake bank.*bank_path"):
        make_plan("fitymi-bank", "digits")
    with pytest.raises(UserError, match="fake bank"):
        make_plan("all", "digits", strict=True)
    bank = tmp_path / "bank.npy"
    np.save(bank, np.zeros((1000, 8, 8, 3), np.uint8))  # class c's block [N·c, N·(c+1)) for N ≤ 100
    plan = make_plan("fitymi-bank", "digits", overrides=[f"fitymi-bank.bank_path={bank}", "fitymi-bank.bank_classes=null"])
    assert len(plan.cells) == 10 and not plan.skipped_methods


def test_embedded_group_holds_the_near_sets():
    plan = make_plan("dn2", "embedded", classes="0")
    assert {c.dataset for c in plan.cells} == {"digits", "digits-fsde", "digits-fsgan", "digits-worst"}


def test_classes_by_name_and_index():
    plan = make_plan("dn2", "digits", classes="7,1")
    assert [c.normal_class for c in plan.cells] == [7, 1]
    assert [c.class_name for c in plan.cells] == ["7", "1"]


def test_config_hash_changes_with_any_parameter():
    base = make_plan("dn2", "digits", classes="0").cells[0]
    k3 = make_plan("dn2", "digits", classes="0", overrides=["dn2.k=3"]).cells[0]
    split = make_plan("dn2", "digits", classes="0", overrides=["digits.test_fraction=0.4"]).cells[0]
    assert k3.method_params["k"] == 3
    assert len({base.key, k3.key, split.key}) == 3
    assert base.key == make_plan("dn2", "digits", classes="0").cells[0].key  # stable


def test_override_globs_apply_to_every_match():
    plan = make_plan("pyod-*", "digits", classes="0", overrides=["pyod-*.standardize=false"])
    assert all(c.method_params["standardize"] is False for c in plan.cells)
    plan = make_plan("pyod-knn", "digits", classes="0", overrides=['pyod-knn.detector_params={"n_neighbors": 2}'])
    assert plan.cells[0].method_params["detector_params"] == {"n_neighbors": 2}


def test_override_parsing():
    assert Override.parse("dn2.k=3") == Override("dn2", "k", 3)
    assert Override.parse("pyod-*.detector_params={\"n_neighbors\": 2}").value == {"n_neighbors": 2}
    assert Override.parse("dn2.weights=/a/b.pth").value == "/a/b.pth"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(methods="nope"), "unknown method 'nope'"),
        (dict(datasets="digitz"), "did you mean 'digits'"),
        (dict(profile="fast"), "has no profile 'fast'"),
        (dict(overrides=["dn2.kk=1"]), "DN2 has no parameter kk"),
        (dict(overrides=["foo.k=1"]), "'foo' matches no selected method or dataset"),
        (dict(overrides=["k=1"]), "write NAME.PARAM=VALUE"),
        (dict(classes="12"), "is not a class of digits"),
        (dict(seeds="x"), "comma-separated integers"),
    ],
)
def test_plan_time_errors(kwargs, message):
    args = {"methods": "dn2", "datasets": "digits", **kwargs}
    with pytest.raises(UserError, match=message):
        make_plan(args.pop("methods"), args.pop("datasets"), **args)


def test_missing_data_named_explicitly_is_an_error_naming_dir_files_and_command(ondisk, tmp_path):
    with pytest.raises(UserError) as error:
        make_plan("dn2", "digits,ondisk", data_root=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "ondisk") in message
    assert "train.bin" in message and "test.bin" in message
    assert "bench data fetch ondisk" in message


def test_missing_data_reached_through_a_group_is_skipped_unless_strict(ondisk, tmp_path):
    plan = make_plan("dn2", "testgroup,digits", classes="0", data_root=tmp_path)
    assert set(plan.skipped) == {"ondisk"}
    assert {c.dataset for c in plan.cells} == {"digits"}
    with pytest.raises(UserError, match="dataset ondisk: missing"):
        make_plan("dn2", "testgroup,digits", data_root=tmp_path, strict=True)


def test_present_data_is_planned(ondisk, tmp_path):
    (tmp_path / "ondisk").mkdir()
    for name in OnDisk.files:
        (tmp_path / "ondisk" / name).write_bytes(b"x")
    plan = make_plan("dn2", "ondisk", data_root=tmp_path)
    assert [c.class_name for c in plan.cells] == ["a", "b"]


def test_missing_weights_are_a_plan_time_error():
    with registered(registry.methods, "needs-weights", NeedsWeights):
        assert make_plan("needs-weights", "digits").cells
        with pytest.raises(UserError, match=r"weights of needs-weights for needs-weights not found .*--set needs-weights.weights=PATH"):
            make_plan("needs-weights", "digits", profile="paper")


def test_dn2_paper_profile_names_the_missing_weights_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UserError, match=r"resnet152-394f9c45\.pth"):
        make_plan("dn2", "digits", profile="paper")


def test_cli_group_notice_lists_missing_datasets_with_fetch_command(ondisk, tmp_path, results):
    status, out, err = run_cli(
        "run", "--methods", "dn2", "--datasets", "testgroup", "--data-root", str(tmp_path),
        "--results", str(results), "--quiet",
    )
    assert status == 0
    assert "notice: skipping datasets whose data is missing: ondisk (`bench data fetch ondisk`)" in err
    assert not results.exists()


def test_profile_variants_follow_the_datasets_tags():
    from bench.plan import select

    selection = select("fitymi", "cifar10,mvtec", profile="paper", overrides=["fitymi.epochs=3"])
    cifar, mvtec = (selection.method_params("fitymi", name) for name in ("cifar10", "mvtec"))
    assert (cifar["lr"], mvtec["lr"]) == (4e-4, 5e-3)  # FITYMI's high-resolution recipe on a high-res set
    assert cifar["epochs"] == mvtec["epochs"] == 3  # --set wins over every profile value
    assert select("fitymi", "mvtec", profile="smoke").method_params("fitymi", "mvtec")["lr"] == 1e-2  # no smoke variant
