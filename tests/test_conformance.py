"""The conformance suites of `bench.testing`, applied to every registered method, fake
generator and dataset — and the suites themselves, checked on classes that break the contract.

Test ids read `<plug-in>-<check>`: `pytest -k check_fit_returns_self` runs one check
everywhere, `pytest -k pyod-knn` one plug-in. A plug-in expected to fail a check says so in
its `tags.expected_failures`, next to its code, never here. What is here: the parameters
that make a method smaller than its smoke profile for this suite, and the inputs a method
cannot run without (`SMALLER`, `INPUTS`); the dataset parameters that keep the near sets fast
(`DATASET_PARAMS`); and, for file-backed datasets, the tiny roots of `tests/tiny_data.py`.
"""

from __future__ import annotations

import copy
import tempfile
import unittest
from pathlib import Path

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.detector import Detector
from bench.errors import check_is_fitted
from bench.generators import generators
from bench.tags import Tags
from bench.testing import (
    DATASET_CHECKS,
    METHOD_CHECKS,
    dataset_checks,
    generator_checks,
    method_checks,
    parametrize_with_checks,
    tiny_digits,
)
from bench.testing import methods as method_suite
from tests import tiny_data

# -- methods --------------------------------------------------------------------------------------


def tiny_fake_bank(folder: Path) -> Path:
    """A one-class bank for fitymi-bank: noisy copies of the training 0s, uint8 N×8×8×3."""
    train = np.stack([np.asarray(image) for image in tiny_digits().train])
    noisy = train.astype(int) + np.random.default_rng(1).integers(-60, 60, train.shape)
    path = folder / "bank.npy"
    np.save(path, np.repeat(np.clip(noisy, 0, 255).astype(np.uint8)[..., None], 3, axis=3))
    return path


def tiny_outlier_folder(folder: Path) -> Path:
    """An ImageFolder of outliers for panda-oe: 20 seeded noise images in one class folder."""
    from PIL import Image

    images = folder / "outliers" / "noise"
    images.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for index in range(20):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(images / f"{index:02d}.png")
    return folder / "outliers"


BANK_FOLDER = tempfile.TemporaryDirectory(prefix="conformance-bank-")  # removed when the session ends

# Smaller than smoke where smoke alone would make this suite slow, by method group or name.
# The checks test contracts, not accuracy — but check_training_changes_scores is about the
# smoke profile's training, so what trains keeps its smoke epochs (CSI's 2 of 4 move it enough).
SMALLER = {
    "csi": {"epochs": 2},  # (Deep SVDD needs its smoke epochs to put noise outside its sphere)
    **{name: {"generator_params": {"train_steps": 5}} for name in ("fitymi", "fitymi-dcgan", "fitymi-wgan-gp")},
}
# What a method cannot run without.
INPUTS = {
    "fitymi-bank": {"bank_path": str(tiny_fake_bank(Path(BANK_FOLDER.name))), "bank_classes": 1},
    "panda-oe": {"outlier_images": str(tiny_outlier_folder(Path(BANK_FOLDER.name)))},
}


def method_params(name: str) -> dict:
    entry = registry.methods.get(name)
    params = {}
    for key in (*entry.groups, name):
        params.update(SMALLER.get(key, {}))
    params.update(INPUTS.get(name, {}))
    return params


@parametrize_with_checks(*(method_checks(name, method_params(name)) for name in registry.methods.names()))
def test_method_conformance(check):
    check()


# -- generators -----------------------------------------------------------------------------------

GENERATOR_PARAMS = {"train_steps": 5}  # on top of each generator's smoke profile


@parametrize_with_checks(*(generator_checks(name, GENERATOR_PARAMS) for name in generators.names()))
def test_generator_conformance(check):
    check()


# -- datasets -------------------------------------------------------------------------------------

DATASET_PARAMS = {  # near sets: cheap generators, no fake-quality figures (tests/test_fake_quality.py has those)
    "digits-fsde": {"generator_steps": 20, "quality": False},
    "digits-fsgan": {"generator_steps": 20, "quality": False},
    "cifar10-fsgan": {"generator_steps": 5, "quality": False},
}


def dataset_suite_for(name: str, folder: Path, monkeypatch) -> dict | str:
    """The bound checks of dataset `name` (check name → callable), over a tiny root under
    `folder` for a file-backed dataset, whose checksum patches `monkeypatch` applies; a
    message instead when a file-backed dataset has no tiny-root builder."""
    benchmark = registry.datasets.get(name).factory(**DATASET_PARAMS.get(name, {}))
    ctx = RunContext(data_root=folder / "data", cache_dir=folder / "cache")
    classes = None
    if not benchmark.embedded:
        builder = tiny_data.BUILDERS.get(name)
        if builder is None:
            return (f"dataset {name!r} reads files but tests/tiny_data.py has no builder for it: add one to "
                    "BUILDERS (a function that writes a tiny root in the real on-disk format)")
        tiny = builder(ctx.data_root)
        tiny.apply(monkeypatch)
        classes = tiny.classes
    return {check.__name__: bound for check, bound in dataset_checks(benchmark, ctx, classes)}


@pytest.fixture(scope="module")
def dataset_suite(request, tmp_path_factory):
    """`dataset_suite_for` the dataset named by the parameter, its patches active until the
    dataset's checks are done (each dataset is split once for all its checks)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield dataset_suite_for(request.param, tmp_path_factory.mktemp(f"conformance-{request.param}"), monkeypatch)


@pytest.mark.parametrize("check", DATASET_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("dataset_suite", registry.datasets.names(), indirect=True)  # ids: <dataset>-<check>
def test_dataset_conformance(dataset_suite, check):
    if isinstance(dataset_suite, str):
        pytest.fail(dataset_suite)
    dataset_suite[check.__name__]()


def test_a_file_backed_dataset_without_a_tiny_root_fails_with_what_to_do(tmp_path, monkeypatch):
    from tests.conftest import registered

    class Unbuilt(registry.datasets.get("svhn").factory):
        """A file-backed dataset nobody wrote a tiny root for."""

    with registered(registry.datasets, "unbuilt", Unbuilt):
        message = dataset_suite_for("unbuilt", tmp_path, monkeypatch)
    assert isinstance(message, str) and "'unbuilt'" in message and "tests/tiny_data.py" in message
    stale = set(tiny_data.BUILDERS) - set(registry.datasets.names())
    assert not stale, f"tests/tiny_data.py builds roots for unknown datasets: {stale}"


# -- the suites catch what they claim to ---------------------------------------------------------


class MeanPixels(Detector):
    """A conforming detector: squared distance to the mean training image (8×8 grayscale)."""

    profiles = {"smoke": {"scale": 1.0}, "paper": {"scale": 1.0}}
    fits = 0  # how many times any instance was fitted

    def __init__(self, *, scale: float = 1.0):
        self.scale = scale

    @staticmethod
    def pixels(images):
        return np.stack([np.asarray(image.convert("L").resize((8, 8)), dtype=float) for image in images])

    def fit(self, train, ctx):
        type(self).fits += 1
        self.mean_ = self.pixels(train).mean(axis=0)
        return self

    def score(self, test, ctx):
        check_is_fitted(self, "mean_")
        return self.scale * ((self.pixels(test) - self.mean_) ** 2).sum(axis=(1, 2))


class ConvertsItsInput(MeanPixels):
    def __init__(self, *, scale: float = 1.0):
        self.scale = float(scale)


class CopiesItsInput(MeanPixels):
    def __init__(self, *, scale: float = 1.0):
        self.scale = copy.copy(scale)  # an equal value, but not the one given


class BuildsInInit(MeanPixels):
    def __init__(self, *, scale: float = 1.0):
        self.scale = scale
        self.model = None


class TakesKwargs(MeanPixels):
    profiles = {"smoke": {}, "paper": {}}

    def __init__(self, **params):
        self.scale = params.get("scale", 1.0)


class PaperDiffers(MeanPixels):
    profiles = {"smoke": {"scale": 1.0}, "paper": {"scale": 2.0}}


class ReturnsNothing(MeanPixels):
    def fit(self, train, ctx):
        super().fit(train, ctx)


class ChangesItsParameters(MeanPixels):
    def fit(self, train, ctx):
        self.scale = 3.0
        return super().fit(train, ctx)


class ScoresUnfitted(MeanPixels):
    def score(self, test, ctx):
        return np.zeros(len(test))


class ReturnsAList(MeanPixels):
    def score(self, test, ctx):
        return super().score(test, ctx).tolist()


class ScoresNaN(MeanPixels):
    def score(self, test, ctx):
        scores = super().score(test, ctx)
        scores[0] = np.nan
        return scores


class ScoresNormality(MeanPixels):
    def score(self, test, ctx):
        return -super().score(test, ctx)


class Unseeded(MeanPixels):
    def score(self, test, ctx):
        return super().score(test, ctx) + np.random.default_rng().random(len(test))


BROKEN_METHODS = [
    (ConvertsItsInput, "check_init_stores_parameters_only", "raised TypeError"),
    (CopiesItsInput, "check_init_stores_parameters_only", "unchanged under its own name; it does not for: scale"),
    (BuildsInInit, "check_init_stores_parameters_only", "attributes that are not parameters: model"),
    (TakesKwargs, "check_init_stores_parameters_only", r"takes \*params"),
    (PaperDiffers, "check_init_defaults_are_paper_profile", "scale: paper 2.0, default 1.0"),
    (ReturnsNothing, "check_fit_returns_self", "returned None, not self"),
    (ChangesItsParameters, "check_fit_leaves_parameters_unchanged", "changed its parameters"),
    (ScoresUnfitted, "check_score_before_fit_raises", "raised nothing"),
    (ReturnsAList, "check_score_shape_and_finite", "not a numpy array"),
    (ScoresNaN, "check_score_shape_and_finite", "1 non-finite"),
    (ScoresNormality, "check_obvious_anomaly_scores_higher", "higher for more anomalous"),
    (Unseeded, "check_fit_idempotent", "scored differently"),
]


@pytest.mark.parametrize("cls, check, message", BROKEN_METHODS,
                         ids=[f"{cls.__name__}-{check}" for cls, check, _ in BROKEN_METHODS])
def test_method_checks_catch_a_broken_method(cls, check, message):
    bound = {c.__name__: b for c, b in method_checks(cls)}[check]
    with pytest.raises(AssertionError, match=message):
        bound()
    for other, conforming in method_checks(MeanPixels):  # and the conforming class passes it
        if other.__name__ == check:
            conforming()


def test_method_checks_fit_once_per_seed_plus_the_idempotence_refit():
    method_suite.FITS.clear()
    MeanPixels.fits = 0
    for _, bound in method_checks(MeanPixels, {"scale": 0.5}):
        bound()
    assert MeanPixels.fits == 2


def test_expected_failures_become_strict_xfails_and_nondeterminism_skips():
    class Declared(PaperDiffers):
        tags = Tags(deterministic=False, expected_failures={"check_init_defaults_are_paper_profile": "a reason"})

    pairs = list(method_checks(Declared))
    assert [check for check, _ in pairs] == list(METHOD_CHECKS)
    bound = {check.__name__: b for check, b in pairs}
    assert bound["check_init_defaults_are_paper_profile"].expected_failure == "a reason"
    assert bound["check_init_defaults_are_paper_profile"].id == "Declared-check_init_defaults_are_paper_profile"
    with pytest.raises(unittest.SkipTest):
        bound["check_fit_idempotent"]()
    (param,) = [p for p in parametrize_with_checks(pairs).args[1] if p.id.endswith("paper_profile")]
    assert [(m.name, m.kwargs) for m in param.marks] == [("xfail", {"reason": "a reason", "strict": True})]

    class Misspelt(MeanPixels):
        tags = Tags(expected_failures={"check_fit_return_self": "typo"})

    with pytest.raises(ValueError, match="check_fit_return_self"):
        list(method_checks(Misspelt))


def test_registered_methods_get_registered_names_as_ids():
    ids = [bound.id for _, bound in method_checks("dn2")]
    assert ids[0] == "dn2-check_init_stores_parameters_only" and len(ids) == len(METHOD_CHECKS)


def test_generator_checks_catch_a_broken_generator():
    base = generators.get("dcgan").factory

    class FloatFakes(base):
        def sample(self, n, ctx):
            return super().sample(n, ctx).astype(np.float32)

    class NoCheck(base):
        def sample(self, n, ctx):
            return np.zeros((n, 8, 8, 3), np.uint8)

    checks = {c.__name__: b for c, b in generator_checks(FloatFakes, GENERATOR_PARAMS)}
    with pytest.raises(AssertionError, match="uint8"):
        checks["check_sample_shape_and_dtype"]()
    checks = {c.__name__: b for c, b in generator_checks(NoCheck, GENERATOR_PARAMS)}
    with pytest.raises(AssertionError, match="NotFittedError"):
        checks["check_sample_before_fit_raises"]()


def named(images, key):
    """`images` under a key that is a name, as keys were before they came from content."""
    from bench.images import SubsetImages

    class NamedKey(SubsetImages):
        def content_key(self):
            return key

    return NamedKey(images, np.arange(len(images)))


def with_image(images, extra):
    """`images` followed by `extra`, keyed as `images` was."""
    from bench.images import ConcatImages

    return named(ConcatImages([images, extra]), images.key)


def broken(name, **changes):
    """Dataset `name` whose split is altered by `changes(split, normal_class)`."""
    from dataclasses import replace

    base = registry.datasets.get(name).factory

    class Broken(base):
        def split(self, normal_class, ctx):
            split = super().split(normal_class, ctx)
            return replace(split, **{k: f(split, normal_class) for k, f in changes.items()})

    Broken.name = f"broken-{name}"
    return Broken()


@pytest.mark.parametrize("check, changes, message", [
    ("check_split_class_name", {"class_name": lambda split, c: f"class {c}"}, "class_names"),
    # the first anomalous test image is put among the training images
    ("check_train_holds_no_anomalous_test_image", {"train": lambda split, c: with_image(
        split.train, split.test.subset([int(np.flatnonzero(split.is_anomaly)[0])]))},
     "1 anomalous test image"),
    # the train set of every class is keyed without its class
    ("check_image_set_keys", {"train": lambda split, c: named(split.train, "train")},
     "'train' names the train set of class 0 and the train set of class 1"),
    ("check_image_set_keys", {"test": lambda split, c: named(split.test, split.train.key)},
     "one key, different images"),
], ids=["class_name", "leak", "train-keys", "train-vs-test-key"])
def test_dataset_checks_catch_a_broken_split(check, changes, message):
    bound = {c.__name__: b for c, b in dataset_checks(broken("digits", **changes), RunContext(), classes=[0, 1])}
    with pytest.raises(AssertionError, match=message):
        bound[check]()
    conforming = {c.__name__: b for c, b in dataset_checks(registry.datasets.get("digits").factory(), RunContext())}
    conforming[check]()


@pytest.mark.parametrize("key, message", [
    (lambda images: images.name, "now holds the bytes of .*, but the train set's key is unchanged"),
    (lambda images: "|".join(images.files()), "key changed when the data root moved"),
], ids=["name", "paths"])
def test_the_changed_file_check_catches_keys_that_are_not_content(tmp_path, key, message):
    """MVTec's train set keyed by its name, or by its files' paths: the check fails."""
    from bench.images import FileImages

    class Keyed(FileImages):
        def content_key(self):
            return key(self)

    tiny_data.mvtec_root(tmp_path)
    dataset = broken("mvtec", train=lambda split, c: Keyed(split.train.files(), split.train.name))
    bound = {c.__name__: b for c, b in dataset_checks(dataset, RunContext(data_root=tmp_path), classes=[0])}
    before = sorted((p, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    with pytest.raises(AssertionError, match=message):
        bound["check_changed_file_changes_key"]()
    assert sorted((p, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()) == before  # nothing changed
    conforming = {c.__name__: b for c, b in dataset_checks(registry.datasets.get("mvtec").factory(),
                                                            RunContext(data_root=tmp_path), classes=[0])}
    conforming["check_changed_file_changes_key"]()


def test_dataset_checks_catch_a_split_with_no_anomaly_class():
    from bench.benchmark import OneClassSplit

    class Unnamed(registry.datasets.get("digits").factory):
        name = "unnamed"

        def split(self, normal_class, ctx):
            split = super().split(normal_class, ctx)
            unnamed = object.__new__(OneClassSplit)  # past __post_init__'s own checks
            for field in ("train", "test", "is_anomaly", "class_name", "metadata"):
                object.__setattr__(unnamed, field, getattr(split, field))
            object.__setattr__(unnamed, "anomaly_class", np.full(len(split.test), ""))
            return unnamed

    bound = {c.__name__: b for c, b in dataset_checks(Unnamed(), RunContext(), classes=[0])}
    with pytest.raises(AssertionError, match="no anomaly_class"):
        bound["check_split_anomaly_class"]()
