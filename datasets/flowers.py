"""Oxford Flowers-102, one species normal against the rest.

Protocol (FITYMI's is not published; this is the common one-vs-rest reading): normal class c
trains on its images of the official `train` and `val` splits (10 + 10 — the per-class
training set is tiny), and the test set is the whole official `test` split (6,149 images),
every other species anomalous. `train_splits` changes which official splits train.
Images are read lazily; torchvision's loader reads the `.mat` split and label files after
their MD5 is checked. The data files hold label numbers only; the species names records carry
are the ones published with the dataset, as torchvision lists them (`Flowers102.classes`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.images import FileImages
from bench.registry import register_dataset

BASE = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
FILES = (
    DataFile("imagelabels.mat", md5="e0620be6f572b9609742df49c70aed4d"),
    DataFile("setid.mat", md5="a5357ecc9cb78c4bef273ce3793fc85c"),
    DataFile("jpg"),
)


@register_dataset("flowers102", groups=("standard",))
class Flowers102(Benchmark):
    """Oxford Flowers-102, one species normal (train+val, 20 images) against the test split."""

    classes = tuple(f"flower-{i:03d}" for i in range(1, 103))  # placeholders; see class_names
    folder = "flowers-102"
    tags = ("high-res",)
    files = FILES
    archives = (
        Archive(f"{BASE}102flowers.tgz", md5="52808999861908f626f3c1f4e79d11fa", destination="flowers-102"),
        Archive(f"{BASE}imagelabels.mat", md5="e0620be6f572b9609742df49c70aed4d", destination="flowers-102"),
        Archive(f"{BASE}setid.mat", md5="a5357ecc9cb78c4bef273ce3793fc85c", destination="flowers-102"),
    )

    def __init__(self, *, train_splits: tuple = ("train", "val")):
        self.train_splits = train_splits

    @property
    def max_train_images(self) -> int | None:
        """10 images per class in each of the train and val splits; the test split varies."""
        return None if "test" in self.train_splits else 10 * len(self.train_splits)

    def _split_files(self, root: Path, split: str) -> tuple[list, np.ndarray]:
        from torchvision.datasets import Flowers102 as TorchvisionFlowers

        table = {f.path: f.md5 for f in self.data_files()}

        class Verified(TorchvisionFlowers):  # torchvision's own integrity check, against the same table
            _file_dict = {k: (name, table.get(name, md5)) for k, (name, md5) in TorchvisionFlowers._file_dict.items()}

        dataset = Verified(str(root), split=split, download=False)
        return list(dataset._image_files), np.asarray(dataset._labels, dtype=np.int64)

    def class_names(self, root: Path) -> tuple[str, ...]:
        from torchvision.datasets import Flowers102 as TorchvisionFlowers

        names = tuple(getattr(TorchvisionFlowers, "classes", ()))
        return names if len(names) == len(self.classes) else tuple(self.classes)

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        self.check(root)
        train_files = []
        for split in self.train_splits:
            files, labels = self._split_files(root, split)
            train_files += [f for f, label in zip(files, labels) if label == normal_class]
        test_files, test_labels = self._split_files(root, "test")
        return one_vs_rest(
            FileImages(train_files, name=f"flowers102/{'+'.join(self.train_splits)}/c{normal_class}"),
            FileImages(test_files, name="flowers102/test"),
            test_labels, normal_class, self.class_names(root),
        )
