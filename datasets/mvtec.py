"""MVTec AD, one category at a time, image level.

Protocol (the anomaly-detection standard; PANDA's category list): for category c, train on
`c/train/good`, test on all of `c/test` — `good` normal, every defect type anomalous (the
defect type is the anomaly class, so per-defect AUROC is stored too). Images are read lazily
from disk; anomalib's `make_mvtec_ad_dataset` lists them (and checks that every defective
image has its mask). Licence CC BY-NC-SA 4.0: accept it on MVTec's site before use.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from bench.benchmark import NORMAL, Benchmark, OneClassSplit
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.errors import UserError
from bench.images import FileImages
from bench.registry import register_dataset

CATEGORIES = (
    "bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut",
    "pill", "screw", "tile", "toothbrush", "transistor", "wood", "zipper",
)


@register_dataset("mvtec", groups=("standard",))
class MVTecAD(Benchmark):
    """MVTec AD industrial images, one of 15 categories: train/good vs test good and defective."""

    classes = CATEGORIES
    folder = "mvtec"
    tags = ("high-res",)
    max_train_images = 391  # hazelnut
    files = tuple(
        DataFile(f"{c}/{part}", normal_class=index)
        for index, c in enumerate(CATEGORIES)
        for part in ("train/good", "test", "ground_truth")
    )
    archives = (
        Archive(
            "https://www.mydrive.ch/shares/150996/b52ecdcbf521176e9db9c731f2304b27/download/420938113-1629960298/"
            "mvtec_anomaly_detection.tar.xz",
            sha256="cf4313b13603bec67abb49ca959488f7eedce2a9f7795ec54446c649ac98cd3d",
            destination="mvtec",
            mirrors=("https://www.mydrive.ch/shares/38536/3830184030e49fe74747669442f0f282/download/420938113-1629952094/"
                     "mvtec_anomaly_detection.tar.xz",),
        ),
    )
    fetch_hint = "the download is 4.9 GiB; its licence (CC BY-NC-SA 4.0) is on mvtec.com"

    def layout_hint(self, root: Path) -> str | None:
        """The `mv` that fixes categories unpacked one level too deep (`mvtec/<x>/bottle`)."""
        folder = self.data_dir(root)
        if not folder.is_dir() or any((folder / c).is_dir() for c in self.classes):
            return None
        for extra in sorted(p for p in folder.iterdir() if p.is_dir()):
            if sum((extra / c).is_dir() for c in self.classes) >= 1:
                return (f"the categories are one level too deep, in {extra}: "
                        f"`mv {extra}/* {folder}/ && rmdir {extra}`")
        return None

    def usability_problems(self, root: Path, classes: list[int]) -> list:
        """Per selected category: training images in train/good, normal and defective test
        images, a mask for every defective image (anomalib's layout check, made early)."""
        from bench.inputs import Lacking

        problems = []
        fix = "`bench data fetch mvtec` unpacks the category again"
        for index in classes:
            base = self.data_dir(root) / self.classes[index]
            if not base.is_dir():
                continue
            if not _images(base / "train" / "good"):
                problems.append(Lacking(f"dataset mvtec: {self.classes[index]}/train/good holds no image",
                                        base / "train" / "good", fix))
            defects = [d for d in sorted((base / "test").iterdir()) if d.is_dir() and d.name != "good"] if (base / "test").is_dir() else []
            if not _images(base / "test" / "good") or not any(_images(d) for d in defects):
                problems.append(Lacking(f"dataset mvtec: {self.classes[index]}/test needs good and defective images",
                                        base / "test", fix))
            for defect in defects:
                for image in _images(defect):
                    mask = base / "ground_truth" / defect.name / f"{image.stem}_mask.png"
                    if not mask.is_file():
                        problems.append(Lacking(f"dataset mvtec: {self.classes[index]}/test/{defect.name}/{image.name} "
                                                "has no mask", mask, fix))
                        break
        return problems

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from anomalib.data.datasets.image.mvtecad import make_mvtec_ad_dataset

        category = self.classes[normal_class]
        folder = self.data_dir(ctx.data_root) / category
        try:
            samples = make_mvtec_ad_dataset(folder)
        except Exception as error:  # anomalib's layout errors, as one line that says where
            raise UserError(f"dataset mvtec: {folder} is not an MVTec AD category ({error}); "
                            "run `bench data verify mvtec`") from None
        train = samples[(samples.split == "train") & (samples.label == "good")]
        test = samples[samples.split == "test"]
        labels = test.label.to_numpy()
        is_anomaly = labels != "good"
        return OneClassSplit(
            train=FileImages(train.image_path, name=f"mvtec/{category}/train"),
            test=FileImages(test.image_path, name=f"mvtec/{category}/test"),
            is_anomaly=is_anomaly,
            anomaly_class=np.where(is_anomaly, labels, NORMAL),
            class_name=category,
        )


def _images(folder: Path) -> list[Path]:
    """The PNG images in `folder` (none when it does not exist)."""
    return sorted(folder.glob("*.png")) if folder.is_dir() else []
