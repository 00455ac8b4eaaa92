"""The dataset suite: the split contract of `bench.benchmark.OneClassSplit`, checked on the
splits a benchmark makes for a few normal classes under one `RunContext`.

Each class is split once and its images hashed once; the checks share them. The checks
compare images by pixel content (the SHA-256 of `np.asarray(image)`, its shape and dtype).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from bench.benchmark import NORMAL, Benchmark, OneClassSplit
from bench.context import RunContext
from bench.images import ImageSet
from bench.testing.base import bind


def image_digest(image) -> str:
    """SHA-256 of an image's pixels, with their shape and dtype."""
    array = np.ascontiguousarray(np.asarray(image))
    return hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()


@dataclass(eq=False)
class DatasetCase:
    """A benchmark, the context its splits are made under and the normal classes checked;
    splits and image digests are made once, on first use (an error is raised again by every
    check that needs the split)."""

    name: str
    benchmark: Benchmark
    ctx: RunContext
    classes: tuple[int, ...]
    _splits: dict = field(default_factory=dict, repr=False)
    _digests: dict = field(default_factory=dict, repr=False)

    def split(self, normal_class: int) -> OneClassSplit:
        if normal_class not in self._splits:
            try:
                made = self.benchmark.split(normal_class, replace(self.ctx, normal_class=normal_class))
            except Exception as error:
                made = error
            self._splits[normal_class] = made
        made = self._splits[normal_class]
        if isinstance(made, Exception):
            raise made
        assert isinstance(made, OneClassSplit), (
            f"{self.name}.split({normal_class}) returned {type(made).__name__}, not a bench.benchmark.OneClassSplit"
        )
        return made

    def splits(self):
        return [(c, self.split(c)) for c in self.classes]

    def digests(self, images: ImageSet) -> list[str]:
        """The pixel digest of every image of a set (the split's own objects: cached by identity)."""
        key = id(images)
        if key not in self._digests:
            self._digests[key] = (images, [image_digest(images[i]) for i in range(len(images))])
        return self._digests[key][1]


def check_split_has_training_images(case: DatasetCase) -> None:
    """`split(c, ctx)` returns a `OneClassSplit` whose training set is not empty, for every
    checked normal class c."""
    for c, split in case.splits():
        assert len(split.train) > 0, f"{case.name}: class {c} has no training images"


def check_split_test_has_normal_and_anomalous(case: DatasetCase) -> None:
    """The test set holds both normal and anomalous images, and `is_anomaly` is a bool array
    with one entry per test image."""
    for c, split in case.splits():
        is_anomaly = np.asarray(split.is_anomaly)
        assert is_anomaly.dtype == bool and is_anomaly.shape == (len(split.test),), (
            f"{case.name}: class {c}: is_anomaly must be bool, one per test image ({len(split.test)}), "
            f"got {is_anomaly.dtype} {is_anomaly.shape}"
        )
        assert is_anomaly.any(), f"{case.name}: class {c}: the test set has no anomalous image"
        assert not is_anomaly.all(), f"{case.name}: class {c}: the test set has no normal image"


def check_split_anomaly_class(case: DatasetCase) -> None:
    """`anomaly_class` names a class (non-empty) for every anomalous test image and is ""
    for every normal one."""
    for c, split in case.splits():
        names = np.asarray(split.anomaly_class)
        is_anomaly = np.asarray(split.is_anomaly, dtype=bool)
        assert names.shape == is_anomaly.shape, (
            f"{case.name}: class {c}: anomaly_class must have one entry per test image"
        )
        unnamed = int((names[is_anomaly] == NORMAL).sum())
        assert not unnamed, f"{case.name}: class {c}: {unnamed} anomalous test image(s) have no anomaly_class"
        named = sorted(set(names[~is_anomaly].tolist()) - {NORMAL})
        assert not named, f"{case.name}: class {c}: normal test images have anomaly_class {named}; expected ''"


def check_split_class_name(case: DatasetCase) -> None:
    """`class_name` is the benchmark's name for the normal class: `class_names(root)[c]`."""
    names = case.benchmark.class_names(case.ctx.data_root)
    for c, split in case.splits():
        assert split.class_name == names[c], (
            f"{case.name}: class {c}: split.class_name is {split.class_name!r}, class_names(root)[{c}] is {names[c]!r}"
        )


def check_train_holds_no_anomalous_test_image(case: DatasetCase) -> None:
    """No training image has the pixels of an anomalous test image (normal training data
    only)."""
    for c, split in case.splits():
        train = set(case.digests(split.train))
        test = case.digests(split.test)
        leaked = [i for i in np.flatnonzero(np.asarray(split.is_anomaly)) if test[i] in train]
        assert not leaked, (
            f"{case.name}: class {c}: {len(leaked)} anomalous test image(s) are also training images "
            f"(test indices {leaked[:5]})"
        )


def check_image_set_keys(case: DatasetCase) -> None:
    """Image-set keys come from content: among the training and test sets of the checked
    classes, two sets with the same key (None aside) hold the same images in the same order —
    so the train sets of two normal classes, or a train and a test set, never share a key."""
    by_key: dict[str, list[tuple[str, str]]] = {}
    for c, split in case.splits():
        for role, images in (("train", split.train), ("test", split.test)):
            if images.key is not None:
                content = hashlib.sha256("".join(case.digests(images)).encode()).hexdigest()
                by_key.setdefault(images.key, []).append((f"{role} set of class {c}", content))
    clashes = [
        f"{key!r} names the {' and the '.join(where for where, _ in sets)}"
        for key, sets in by_key.items()
        if len({content for _, content in sets}) > 1
    ]
    assert not clashes, f"{case.name}: one key, different images: {'; '.join(clashes)}"


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copy2(source, target)


def _mirror(root: Path, into: Path) -> None:
    """`root`'s tree under `into`: every file a hard link to the original where both lie on one
    filesystem, else a copy. (Not symbolic links: some loaders, anomalib's among them, refuse
    files that resolve outside their folder.)"""
    for folder, _, names in os.walk(root, followlinks=True):
        target = into / Path(folder).relative_to(root)
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            _link_or_copy(Path(folder, name).resolve(), target / name)


def _keys(case: DatasetCase, c: int, root: Path) -> dict[str, str | None] | Exception:
    try:
        split = case.benchmark.split(c, replace(case.ctx, normal_class=c, data_root=root))
    except Exception as error:  # a dataset that verifies its files refuses the changed one
        return error
    return {"train": split.train.key, "test": split.test.key}


def check_changed_file_changes_key(case: DatasetCase) -> None:
    """Keys of file-backed image sets come from the files' content, not their names or place:
    the split made from a mirror of the data root (hard links to its files, in a temporary
    folder) has the same keys, and one whose first training (then test) file is replaced by
    another image's bytes has a different key for that set (or is refused, for a dataset that
    verifies its files). Nothing under the data root is changed. Sets held in memory are not
    concerned."""
    c = case.classes[0]
    split, root = case.split(c), Path(case.ctx.data_root).resolve()
    roles = {"train": split.train, "test": split.test}
    files = {role: [f for f in images.files() if Path(f).resolve().is_relative_to(root)] for role, images in roles.items()}
    if not any(files.values()):
        return
    every = [f for role in roles for f in files[role]]
    with tempfile.TemporaryDirectory(prefix="bench-check-") as temporary:
        mirror = Path(temporary) / "data"
        _mirror(root, mirror)
        same = _keys(case, c, mirror)
        assert not isinstance(same, Exception), f"{case.name}: class {c}: split of a mirrored data root failed: {same!r}"
        for role, images in roles.items():
            assert same[role] == images.key, (
                f"{case.name}: class {c}: the {role} key changed when the data root moved (same files, other "
                "place): keys must come from content only"
            )
        for role in roles:
            if not files[role]:
                continue
            target = Path(files[role][0]).resolve()
            donors = [Path(f).resolve() for f in every if Path(f).resolve().read_bytes() != target.read_bytes()]
            if not donors:
                continue
            changed = mirror / target.relative_to(root)
            changed.unlink()  # a new file: the original, linked, keeps its bytes
            changed.write_bytes(donors[0].read_bytes())
            after = _keys(case, c, mirror)
            changed.unlink()
            _link_or_copy(target, changed)
            if isinstance(after, Exception):
                continue
            assert after[role] != same[role], (
                f"{case.name}: class {c}: {target.relative_to(root)} now holds the bytes of "
                f"{donors[0].relative_to(root)}, but the {role} set's key is unchanged: a cache would return the "
                "features of the old image"
            )


DATASET_CHECKS = (
    check_split_has_training_images,
    check_split_test_has_normal_and_anomalous,
    check_split_anomaly_class,
    check_split_class_name,
    check_train_holds_no_anomalous_test_image,
    check_image_set_keys,
    check_changed_file_changes_key,
)


def dataset_checks(
    benchmark: Benchmark,
    ctx: RunContext | None = None,
    classes: Sequence[int] | None = None,
    *,
    expected_failures: Mapping[str, str] | None = None,
):
    """Yield `(check, bound)` for every check of `DATASET_CHECKS` applied to `benchmark` (an
    instance, with the parameters to check) splitting `classes` (default: its first two
    normal classes) under `ctx` (default: `RunContext()`; its `data_root` is where the data
    lives, and its caches are used). Nothing is read until a check runs. `expected_failures`
    maps check names to reasons (strict xfails)."""
    cls = type(benchmark)
    name = getattr(cls, "name", "") or cls.__name__
    chosen = tuple(range(min(2, len(benchmark.classes)))) if classes is None else tuple(int(c) for c in classes)
    case = DatasetCase(name, benchmark, ctx if ctx is not None else RunContext(), chosen)
    yield from bind(name, case, DATASET_CHECKS, expected_failures)

