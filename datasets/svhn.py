"""SVHN (street-view house numbers), one digit normal against the rest.

Protocol: train on every training image of digit c, test on the whole test split (26,032),
the nine other digits anomalous. The `.mat` files sit directly in `<root>/svhn/`; they are
checked against their MD5 and read with torchvision's loader (which needs scipy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.images import ArrayImages
from bench.registry import register_dataset

FILES = (
    DataFile("train_32x32.mat", md5="e26dedcc434d2e4c54c9b2d4a06d8373"),
    DataFile("test_32x32.mat", md5="eb5a983be6a315427106f1b164d9cef3"),
)


@register_dataset("svhn", groups=("standard",))
class SVHN(Benchmark):
    """SVHN house-number digits (32×32 RGB), one digit normal against the nine others."""

    classes = tuple(str(d) for d in range(10))
    folder = "svhn"
    image_size = 32
    max_train_images = 13861  # digit 1
    files = FILES
    archives = tuple(
        Archive(f"http://ufldl.stanford.edu/housenumbers/{f.path}", md5=f.md5, destination="svhn") for f in FILES
    )

    def _load(self, root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
        from torchvision.datasets import SVHN as TorchvisionSVHN

        table = {f.path: f.md5 for f in self.data_files()}

        class Verified(TorchvisionSVHN):  # torchvision's own integrity check, against the same table
            split_list = {k: [url, name, table.get(name, md5)] for k, (url, name, md5) in TorchvisionSVHN.split_list.items()}

        dataset = Verified(str(self.data_dir(root)), split=split, download=False)
        return dataset.data.transpose(0, 2, 3, 1), np.asarray(dataset.labels, dtype=np.int64)

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        self.check(root)
        train_images, train_labels = self._load(root, "train")
        test_images, test_labels = self._load(root, "test")
        return one_vs_rest(
            ArrayImages(np.ascontiguousarray(train_images[train_labels == normal_class]), name=f"svhn/train/c{normal_class}"),
            ArrayImages(np.ascontiguousarray(test_images), name="svhn/test"),
            test_labels, normal_class, self.classes,
        )
