"""The dataset-adapter contract: a one-class benchmark and the split it makes per normal class."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.context import RunContext
from bench.digest import digest
from bench.images import ImageSet
from bench.params import HasParams, parameter_defaults

NORMAL = ""  # anomaly_class of a normal test image


@dataclass(frozen=True)
class OneClassSplit:
    """Normal training images, and test images with their ground truth.

    `is_anomaly` is a bool array with one entry per test image; `anomaly_class[i]` names the class an anomalous test image comes from (for per-class and
    worst-class AUROC); it is `NORMAL` ("") for normal test images.
    """

    train: ImageSet
    test: ImageSet
    is_anomaly: np.ndarray
    anomaly_class: np.ndarray
    class_name: str  # the normal class's name
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.test)
        if self.is_anomaly.shape != (n,) or self.anomaly_class.shape != (n,):
            raise ValueError(f"is_anomaly and anomaly_class must have one entry per test image ({n})")
        if self.is_anomaly.dtype != bool:
            raise ValueError("is_anomaly must be a bool array")
        if not np.array_equal(self.is_anomaly, self.anomaly_class != NORMAL):
            raise ValueError("anomaly_class must be empty exactly for the normal test images")
        if self.is_anomaly.all() or not self.is_anomaly.any():
            raise ValueError("the test set needs both normal and anomalous images")

    @property
    def fingerprint(self) -> str | None:
        """Hex SHA-256 of the split's data: the content keys of the training and test images,
        the ground truth (`anomaly_class`, which also says which test images are normal) and
        the normal class's name; None when an image set has no key."""
        if self.train.key is None or self.test.key is None:
            return None
        return digest({
            "train": self.train.key,
            "test": self.test.key,
            "anomaly_class": digest(self.anomaly_class.tolist()),
            "class_name": self.class_name,
        })

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "test": len(self.test),
            "test_normal": int((~self.is_anomaly).sum()),
            "test_anomalous": int(self.is_anomaly.sum()),
        }


def one_vs_rest(train: ImageSet, test: ImageSet, test_labels: np.ndarray, normal_class: int, classes) -> OneClassSplit:
    """The usual split: test images labelled `normal_class` are normal, every other class is
    anomalous and its own anomaly class."""
    is_anomaly = test_labels != normal_class
    return OneClassSplit(
        train=train,
        test=test,
        is_anomaly=is_anomaly,
        anomaly_class=np.where(is_anomaly, np.asarray(classes)[test_labels], NORMAL),
        class_name=classes[normal_class],
    )


class Benchmark(HasParams):
    """Base class of every dataset adapter.

    Subclasses set `classes` (names of the normal classes, indexed by normal-class id), and
    implement `split(normal_class, ctx)`, reading files under `ctx.data_root` and using
    `ctx`'s device, caches and progress for any work of their own. Adapters that read files
    set `folder` (under the data root) and `files` (`DataFile`s, or plain paths, relative to
    `folder`); `archives` lists downloads that provide them, and `fetch_hint` the manual
    steps where there is none. Embedded benchmarks leave `files` empty. `headline` names the
    metric the benchmark reports (`bench table`'s default): AUROC, or for worst-class
    protocols `auroc-worst`. `image_size` is the side of its images in px (None when they
    vary), and `tags` select method profile variants (`paper+high-res`).
    """

    name: ClassVar[str] = ""  # set by @register_dataset
    classes: ClassVar[tuple[str, ...]] = ()
    folder: ClassVar[str] = ""
    files: ClassVar[tuple] = ()
    archives: ClassVar[tuple] = ()
    fetch_hint: ClassVar[str] = ""
    headline: ClassVar[str] = "auroc"
    image_size: ClassVar[int | None] = None
    tags: ClassVar[tuple[str, ...]] = ()

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        raise NotImplementedError

    def fingerprint(self, normal_class: int, ctx: RunContext, split: OneClassSplit | None = None) -> str | None:
        """What identifies the data of `normal_class`'s split: records carry it, and a record
        whose fingerprint differs from today's is stale. The default is the split's own
        (`OneClassSplit.fingerprint`, made from the images' content), `split` when given, else
        a split made now. A dataset whose split is expensive to make again (one that trains a
        generator) may derive it from what determines the split instead; then it must give the
        same value with or without `split`."""
        return (split if split is not None else self.split(normal_class, ctx)).fingerprint

    def class_names(self, root: Path) -> tuple[str, ...]:
        """The names of the normal classes. Datasets whose names ship with their data read
        them from it (under the data `root`) and fall back to `classes` when it is missing."""
        return tuple(self.classes)

    @property
    def embedded(self) -> bool:
        return not self.data_files()

    def data_dir(self, root: Path) -> Path:
        return Path(root) / self.folder

    def data_files(self) -> list:
        """`files` as `DataFile`s."""
        from bench.datafiles import DataFile

        return [f if isinstance(f, DataFile) else DataFile(f) for f in self.files]

    def check(self, root: Path) -> None:
        """Raise one UserError naming every missing or corrupt declared file; adapters call
        it at the start of `split`, before reading (and so before unpickling) anything."""
        from bench.datafiles import check_files

        check_files(self.name, self.data_dir(root), self.data_files())

    def missing_files(self, root: Path, classes=None) -> list[Path]:
        """Declared files that are absent, among those the normal `classes` need (None: all)."""
        directory = self.data_dir(root)
        return [
            directory / f.path
            for f in self.data_files()
            if (classes is None or f.normal_class is None or f.normal_class in classes)
            and not (directory / f.path).exists()
        ]


def validate_benchmark_class(name: str, cls: type) -> None:
    """Registration-time checks for a dataset adapter."""
    if not (isinstance(cls, type) and issubclass(cls, Benchmark)):
        raise TypeError(f"dataset {name!r}: {cls!r} is not a bench.benchmark.Benchmark")
    if not cls.classes:
        raise TypeError(f"dataset {name!r} declares no classes")
    parameter_defaults(cls)  # raises on an unusable __init__
