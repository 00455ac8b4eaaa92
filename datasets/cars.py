"""Stanford Cars (196 models), one model normal against the rest.

Protocol (FITYMI's is not published; this is the usual one-vs-rest reading): normal class c
trains on its training images (about 41), and the test set is the whole test split (8,041
images), every other model anomalous; `test_classes` = N keeps only the test images of the
first N models. Images are read lazily through torchvision's loader.

The original download is gone (torchvision's `download()` refuses): `bench data fetch` gets
the devkit and the test labels from their GitHub copies; the images come by hand. The
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
from bench.datafiles import Archive, DataFile
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
    archives = (  # the original site is gone: the devkit and the test labels from their GitHub copies
        Archive("https://github.com/pytorch/vision/files/11644847/car_devkit.tgz",
                md5="c3b158d763b6e2245038c8ad08e45376", destination="stanford_cars"),
        Archive("https://raw.githubusercontent.com/nguyentruonglau/stanford-cars/main/labeldata/"
                "cars_test_annos_withlabels.mat", md5="b0a2b23655a3edd16d84508592a98d10", destination="stanford_cars",
                mirrors=("https://raw.githubusercontent.com/nguyentruonglau/stanford-cars/master/labeldata/"
                         "cars_test_annos_withlabels.mat",)),
    )
    fetch_hint = (
        "`bench data fetch stanford-cars` gets the devkit and the test labels; the images only by hand: from Kaggle "
        "'jessicali9530/stanford-cars-dataset', unpacked into <data root>/stanford_cars/cars_train and cars_test "
        "(flat: Kaggle nests cars_train/cars_train, move those files up one level)"
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

    def usability_problems(self, root: Path, classes: list[int]) -> list:
        """Kaggle's nested `cars_train/cars_train` layout (with the `mv` that flattens it), an
        annotated image that is not there (what the split would read), a selected model with
        no training image, and a `test_classes` that leaves a class without normal test images."""
        from scipy.io import loadmat

        from bench.benchmark import test_classes_problem
        from bench.inputs import Lacking

        problems = []
        base = self.data_dir(root)
        for split, annotation_file in (("cars_train", "devkit/cars_train_annos.mat"), ("cars_test", "cars_test_annos_withlabels.mat")):
            folder = base / split
            if (folder / split).is_dir():
                problems.append(Lacking(f"dataset stanford-cars: the images are one level too deep, in {split}/{split}",
                                        folder / split, f"`mv {folder / split}/* {folder}/ && rmdir {folder / split}`"))
                continue
            try:
                table = loadmat(base / annotation_file, squeeze_me=True)["annotations"]
                names, labels = [str(n) for n in table["fname"].tolist()], np.asarray(table["class"].tolist()) - 1
            except Exception as error:  # not a .mat file, or not the annotations
                problems.append(Lacking(f"dataset stanford-cars: {annotation_file} cannot be read ({type(error).__name__})",
                                        base / annotation_file, "replace it with the published file (see `bench data list`)"))
                continue
            absent = [name for name in names if not (folder / name).is_file()]
            if absent:
                problems.append(Lacking(f"dataset stanford-cars: {len(absent)} of the {len(names)} images {annotation_file} "
                                        f"lists are not in {split}, e.g. {absent[0]}", folder,
                                        "copy the split's images there (flat, as the annotations name them)"))
            if split == "cars_train":
                empty = [c for c in classes if not (labels == c).any()]
                if empty:
                    problems.append(Lacking(f"dataset stanford-cars: class {empty[0]} has no training image",
                                            base / annotation_file, "use the published annotations, or other --classes"))
        problem = test_classes_problem(self, classes)
        return problems + ([problem] if problem else [])

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
