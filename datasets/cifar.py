"""CIFAR-10 and CIFAR-100 (20 superclasses), one class normal against the rest; and FITYMI's
CIFAR-10 vs CIFAR-100 near-distribution protocol.

Protocol (PANDA / MSC / FITYMI "one-vs-all"): train on the training images of normal class c
(5,000 for CIFAR-10, 2,500 for a CIFAR-100 superclass); test on the whole test split (10,000),
every image not of class c anomalous. CIFAR-100 uses the standard fine → coarse map (the one
in FITYMI's and Transformaly's code, agreeing with the official superclass table), not CSI's
table, which shifts fine ids 25–39.

Files are read with torchvision's loaders after nearbench has checked every file's MD5, once
per split: the batches are Python pickles, and an unverified pickle can run code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.benchmark import NORMAL, Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.images import ArrayImages
from bench.registry import register_dataset

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

CIFAR100_SUPERCLASSES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2",
)

# fine label i → its superclass (the standard map)
FINE_TO_COARSE = np.array([
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
    0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
    18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
])


def load_cifar(adapter: Benchmark, root: Path, train: bool):
    """Images (N×32×32×3 uint8), fine labels and label names of one split, through
    torchvision's loader, whose own integrity check (run before it unpickles) uses the
    adapter's checksum table. Callers run `check` first, for nearbench's clearer report."""
    base = adapter.torchvision_class()
    table = {f.path: f.md5 for f in adapter.data_files()}

    class Verified(base):  # torchvision's own integrity check, against the same table
        train_list = [[name, table[name]] for name, _ in base.train_list]
        test_list = [[name, table[name]] for name, _ in base.test_list]
        meta = {**base.meta, "md5": table[base.meta["filename"]]}

    dataset = Verified(str(root), train=train, download=False)
    return dataset.data, np.asarray(dataset.targets, dtype=np.int64), tuple(dataset.classes)


class CIFAR(Benchmark):
    """Shared one-vs-all split of the CIFAR adapters."""

    def torchvision_class(self):
        raise NotImplementedError

    def labels(self, fine: np.ndarray) -> np.ndarray:
        return fine

    image_size = 32

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        self.check(root)
        train_images, train_fine, _ = load_cifar(self, root, train=True)
        test_images, test_fine, _ = load_cifar(self, root, train=False)
        train_labels, test_labels = self.labels(train_fine), self.labels(test_fine)
        return one_vs_rest(
            ArrayImages(train_images[train_labels == normal_class], name=f"{self.name}/train/c{normal_class}"),
            ArrayImages(test_images, name=f"{self.name}/test"),
            test_labels, normal_class, self.classes,
        )

    def train_size(self, normal_class: int, ctx: RunContext) -> int:
        self.check(ctx.data_root)
        return int((self.labels(load_cifar(self, ctx.data_root, train=True)[1]) == normal_class).sum())


@register_dataset("cifar10", groups=("standard",))
class CIFAR10(CIFAR):
    """CIFAR-10, one class normal (5,000 training images) against the 9 others (10,000 test images)."""

    classes = CIFAR10_CLASSES
    folder = "cifar-10-batches-py"
    max_train_images = 5000
    files = (
        DataFile("data_batch_1", md5="c99cafc152244af753f735de768cd75f"),
        DataFile("data_batch_2", md5="d4bba439e000b95fd0a9bffe97cbabec"),
        DataFile("data_batch_3", md5="54ebc095f3ab1f0389bbae665268c751"),
        DataFile("data_batch_4", md5="634d18415352ddfa80567beed471001a"),
        DataFile("data_batch_5", md5="482c414d41f54cd18b22e5b47cb7c3cb"),
        DataFile("test_batch", md5="40351d587109b95175f43aff81a1287e"),
        DataFile("batches.meta", md5="5ff9c542aee3614f3951f8cda6e48888"),
    )
    archives = (Archive("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a"),)

    def torchvision_class(self):
        from torchvision.datasets import CIFAR10 as TorchvisionCIFAR10

        return TorchvisionCIFAR10


@register_dataset("cifar100", groups=("standard",))
class CIFAR100(CIFAR):
    """CIFAR-100 by its 20 superclasses, one normal (2,500 training images) against the 19 others."""

    classes = CIFAR100_SUPERCLASSES
    folder = "cifar-100-python"
    max_train_images = 2500
    files = (
        DataFile("train", md5="16019d7e3df5f24257cddd939b257f8d"),
        DataFile("test", md5="f0ef6b0ae62326f3e7ffdfab6717acfc"),
        DataFile("meta", md5="7973b15100ade9c7d40fb424638fde48"),
    )
    archives = (Archive("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", md5="eb9058c3a382ffc7106e4002c42a8d85"),)

    def torchvision_class(self):
        from torchvision.datasets import CIFAR100 as TorchvisionCIFAR100

        return TorchvisionCIFAR100

    def labels(self, fine: np.ndarray) -> np.ndarray:
        return FINE_TO_COARSE[fine]


@register_dataset("cifar10-vs-cifar100", groups=("near",))
class CIFAR10VsCIFAR100(Benchmark):
    """CIFAR-10 class vs each CIFAR-100 fine class (FITYMI's near-distribution protocol; headline auroc-worst)."""

    headline = "auroc-worst"

    # FITYMI (main.py, eval.py): normal class c of CIFAR-10 trains on its 5,000 training
    # images; for each of the 100 CIFAR-100 *fine* classes j, AUROC(c, j) is computed on the
    # 1,000 CIFAR-10 test images of c against the 100 CIFAR-100 test images of j, and the
    # minimum over j is reported. Every fine class is one anomaly class of the test set here,
    # so `bench table --metric auroc-worst` is that minimum (averaged over c) and
    # `--metric auroc` the pooled AUROC against all 10,000 CIFAR-100 test images.
    classes = CIFAR10_CLASSES
    image_size = 32
    max_train_images = 5000
    fetch_hint = "it needs both cifar10 and cifar100: `bench data fetch cifar10 cifar100`"

    @property
    def parts(self) -> tuple[Benchmark, Benchmark]:
        return CIFAR10(), CIFAR100()

    @property
    def archives(self):
        return sum((part.archives for part in self.parts), ())

    def data_files(self) -> list:
        return [
            DataFile(f"{part.folder}/{f.path}", md5=f.md5, sha256=f.sha256)
            for part in self.parts
            for f in part.data_files()
        ]

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        self.check(root)
        cifar10, cifar100 = self.parts
        train_images, train_labels, _ = load_cifar(cifar10, root, train=True)
        normal_images, normal_labels, _ = load_cifar(cifar10, root, train=False)
        far_images, fine, fine_names = load_cifar(cifar100, root, train=False)
        normal = normal_images[normal_labels == normal_class]
        n_normal = len(normal)
        return OneClassSplit(
            train=ArrayImages(train_images[train_labels == normal_class], name=f"cifar10/train/c{normal_class}"),
            test=ArrayImages(np.concatenate([normal, far_images]), name=f"cifar10-vs-cifar100/test/c{normal_class}"),
            is_anomaly=np.arange(n_normal + len(far_images)) >= n_normal,
            anomaly_class=np.concatenate([np.full(n_normal, NORMAL), np.asarray(fine_names)[fine]]),
            class_name=self.classes[normal_class],
        )
