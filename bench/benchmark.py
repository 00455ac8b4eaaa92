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
    vary), and `tags` select method profile variants (`paper+high-res`). `max_train_images` is
    the number of training images of its largest normal class (None: unknown), from which the
    planner estimates what memory-hungry methods need before anything runs.
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
    max_train_images: ClassVar[int | None] = None  # the largest normal class's training images

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        raise NotImplementedError

    def train_size(self, normal_class: int, ctx: RunContext) -> int | None:
        """How many training images normal class `normal_class` has, when the adapter can tell
        without building its split (None: unknown until the cell runs). The planner uses it
        to check inputs sliced per class, such as `fitymi-bank`'s fake file."""
        return None

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

    def data_problems(self, root: Path, classes: list[int]) -> list:
        """What makes present data unusable for the normal `classes`, found cheaply before any
        cell runs: `bench.inputs.Lacking` items naming the file or parameter and the fix —
        the checksums of declared files up to `SMALL_FILE` bytes (CIFAR's batches, label
        tables), then the adapter's `usability_problems`."""
        return self.checksum_problems(root) + self.usability_problems(root, classes)

    def usability_problems(self, root: Path, classes: list[int]) -> list:
        """Adapters' own plan-time checks of present data for the normal `classes` (layout,
        empty folders, protocol parameters that contradict the data): `Lacking` items."""
        return []

    def checksum_problems(self, root: Path) -> list:
        """Declared files up to `SMALL_FILE` bytes whose checksum fails, as `Lacking` items."""
        from bench.datafiles import CORRUPT, SMALL_FILE
        from bench.inputs import Lacking

        folder = self.data_dir(root)
        problems = []
        for data_file in self.data_files():
            path = folder / data_file.path
            if (data_file.md5 or data_file.sha256) and path.is_file() and path.stat().st_size <= SMALL_FILE:
                if data_file.status(folder) == CORRUPT:
                    fix = f"`bench data fetch {self.name}` replaces it" if self.archives else "replace it with the published file"
                    problems.append(Lacking(f"dataset {self.name}: {data_file.path} fails its checksum", path, fix))
        return problems

    def layout_hint(self, root: Path) -> str | None:
        """When the data looks unpacked in the wrong place (a folder nested one level too
        deep), one line naming it with the `mv` that fixes it; None otherwise."""
        return None

    def derived_problems(self, root: Path) -> list[tuple[Path, str]]:
        """Files the adapter derives from its declared ones (an unpacked copy) that are
        damaged, with what is wrong; the adapter remakes them when it next reads them."""
        return []

    def missing_files(self, root: Path, classes=None) -> list[Path]:
        """Declared files that are absent, among those the normal `classes` need (None: all)."""
        directory = self.data_dir(root)
        return [
            directory / f.path
            for f in self.data_files()
            if (classes is None or f.normal_class is None or f.normal_class in classes)
            and not (directory / f.path).exists()
        ]


def test_classes_problem(benchmark: Benchmark, classes: list[int]):
    """The `bench.inputs.Lacking` item when `test_classes` (keep the test images of the first
    N classes) leaves a selected normal class without normal or without anomalous test images;
    None when it does not."""
    from bench.inputs import Lacking

    kept = benchmark.test_classes
    if kept is None:
        return None
    outside = [c for c in classes if c >= kept]
    if kept >= 2 and not outside:
        return None
    if kept < 2:
        why = f"test_classes={kept} keeps a single class's test images: no anomalies to find"
    else:
        why = (f"test_classes={kept} keeps the test images of classes 0–{kept - 1} only, so class(es) "
               f"{', '.join(map(str, outside[:5]))}{' ...' if len(outside) > 5 else ''} would have no normal test image")
    return Lacking(f"dataset {benchmark.name}: {why}", f"--set {benchmark.name}.test_classes",
                   f"raise test_classes to at least {max(2, max(classes) + 1)}, or choose --classes below {kept}")


def validate_benchmark_class(name: str, cls: type) -> None:
    """Registration-time checks for a dataset adapter."""
    if not (isinstance(cls, type) and issubclass(cls, Benchmark)):
        raise TypeError(f"dataset {name!r}: {cls!r} is not a bench.benchmark.Benchmark")
    if not cls.classes:
        raise TypeError(f"dataset {name!r} declares no classes")
    parameter_defaults(cls)  # raises on an unusable __init__
