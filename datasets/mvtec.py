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
        ),
    )
    fetch_hint = "the download is 4.9 GiB; its licence (CC BY-NC-SA 4.0) is on mvtec.com"

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
