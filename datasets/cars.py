"""Stanford Cars (196 models), one model normal against the rest.

Protocol (FITYMI's is not published; this is the usual one-vs-rest reading): normal class c
trains on its training images (about 41), and the test set is the whole test split (8,041
images), every other model anomalous; `test_classes` = N keeps only the test images of the
first N models. Images are read lazily through torchvision's loader.

The original download is gone (torchvision's `download()` refuses): see `fetch_hint`. The
layout torchvision reads, under `<root>/stanford_cars/`: `devkit/cars_meta.mat`,
`devkit/cars_train_annos.mat`, `cars_train/*.jpg`, `cars_test/*.jpg`,
`cars_test_annos_withlabels.mat`. MD5s of the legacy files are checked where present. The
model names records carry come from the devkit's `cars_meta.mat` (`class_names`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import DataFile
from bench.errors import UserError
from bench.images import FileImages
from bench.registry import register_dataset


@register_dataset("stanford-cars", groups=("near",))
class StanfordCars(Benchmark):
    """Stanford Cars, one car model normal against the 195 others (fine-grained, near-distribution)."""

    classes = tuple(f"car-{i:03d}" for i in range(1, 197))  # until the devkit is there
    folder = "stanford_cars"
    tags = ("high-res",)
    files = (
        DataFile("devkit/cars_meta.mat"),
        DataFile("devkit/cars_train_annos.mat"),
        DataFile("cars_train"),
        DataFile("cars_test"),
        DataFile("cars_test_annos_withlabels.mat", md5="b0a2b23655a3edd16d84508592a98d10"),
    )
    fetch_hint = (
        "the original site is gone: take the images from Kaggle 'jessicali9530/stanford-cars-dataset' "
        "(flatten its cars_train/cars_train and cars_test/cars_test folders), the devkit from "
        "https://github.com/pytorch/vision/files/11644847/car_devkit.tgz, and cars_test_annos_withlabels.mat "
        "(MD5 b0a2b23655a3edd16d84508592a98d10), laid out as the files listed"
    )

    def __init__(self, *, test_classes: int | None = None):
        self.test_classes = test_classes

    def _samples(self, root: Path, split: str) -> tuple[list[str], np.ndarray]:
        from torchvision.datasets import StanfordCars as TorchvisionCars

        dataset = TorchvisionCars(str(root), split=split, download=False)
        paths, labels = zip(*dataset._samples)
        return list(paths), np.asarray(labels, dtype=np.int64)

    def class_names(self, root: Path) -> tuple[str, ...]:
        """Model names from `devkit/cars_meta.mat`, in class-id order."""
        path = self.data_dir(root) / "devkit" / "cars_meta.mat"
        if not path.is_file():
            return tuple(self.classes)
        from scipy.io import loadmat

        names = tuple(str(name) for name in loadmat(path, squeeze_me=True)["class_names"].tolist())
        if len(names) != len(self.classes):
            raise UserError(f"{path}: {len(names)} class names, expected {len(self.classes)}")
        return names

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        self.check(root)
        train_paths, train_labels = self._samples(root, "train")
        test_paths, test_labels = self._samples(root, "test")
        keep = test_labels < (self.test_classes or len(self.classes))
        test_paths, test_labels = [p for p, k in zip(test_paths, keep) if k], test_labels[keep]
        return one_vs_rest(
            FileImages([p for p, label in zip(train_paths, train_labels) if label == normal_class],
                       name=f"stanford-cars/train/c{normal_class}"),
            FileImages(test_paths, name=f"stanford-cars/test/{self.test_classes}"),
            test_labels, normal_class, self.class_names(root),
        )
