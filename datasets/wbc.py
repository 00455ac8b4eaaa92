"""WBC: white blood cells (Zheng et al., Micron 2018; zxaoyou/segmentation_WBC), Dataset 1.

Protocol (the one found in third-party anomaly-detection code; which one FITYMI, PANDA and
Transformaly used is not published): Dataset 1's 300 images of 120×120 px, the single
basophil dropped; normal class c (neutrophil, lymphocyte, monocyte or eosinophil) trains on
`train_fraction` of its images, drawn by a permutation seeded with `split_seed`, and the test
set is the rest of c plus every image of the other three classes. The defaults (0.68, 2)
give the reference's 120 of 176 neutrophils, not its exact images (it used another random
generator). Labels come from `Class Labels of Dataset 1.csv` (1–5 = neutrophil, lymphocyte,
monocyte, eosinophil, basophil).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.errors import UserError
from bench.images import FileImages
from bench.registry import register_dataset

LABELS = "Class Labels of Dataset 1.csv"
COMMIT = "fa9c016"  # zxaoyou/segmentation_WBC as the protocol was read


@register_dataset("wbc", groups=("standard",))
class WBC(Benchmark):
    """White blood cells (Dataset 1), one cell type normal against the three others."""

    classes = ("neutrophil", "lymphocyte", "monocyte", "eosinophil")
    folder = "segmentation_WBC"
    image_size = 120
    tags = ("high-res",)
    files = (DataFile(LABELS, md5="b642fc48ecb9f218127c58735a5a3245"), DataFile("Dataset 1"))
    archives = (  # the repository at a pinned commit (its archive has no stable checksum: the labels' MD5 decides)
        Archive(f"https://github.com/zxaoyou/segmentation_WBC/archive/{COMMIT}.tar.gz", destination="segmentation_WBC",
                strip=1),
    )

    def __init__(self, *, train_fraction: float = 0.68, split_seed: int = 2):
        self.train_fraction = train_fraction
        self.split_seed = split_seed

    @property
    def max_train_images(self) -> int:
        return int(round(self.train_fraction * 176))  # the 176 neutrophils

    def _labelled_images(self, folder: Path) -> tuple[list[Path], np.ndarray]:
        paths, labels = [], []
        with open(folder / LABELS, newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    image_id, label = int(row["image ID"]), int(row["class label"])
                except (KeyError, TypeError, ValueError):
                    raise UserError(f"{folder / LABELS}: expected columns 'image ID,class label', got {row}") from None
                if 1 <= label <= len(self.classes):  # label 5, the lone basophil, is dropped
                    paths.append(folder / "Dataset 1" / f"{image_id:03d}.bmp")
                    labels.append(label - 1)
        return paths, np.asarray(labels, dtype=np.int64)

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        folder = self.data_dir(ctx.data_root)
        self.check(ctx.data_root)
        paths, labels = self._labelled_images(folder)
        members = np.flatnonzero(labels == normal_class)
        order = np.random.default_rng(self.split_seed).permutation(members)
        n_train = int(round(self.train_fraction * len(members)))
        train = np.sort(order[:n_train])
        test = np.setdiff1d(np.arange(len(paths)), train)
        tag = f"wbc/f{self.train_fraction}-s{self.split_seed}/c{normal_class}"
        return one_vs_rest(
            FileImages([paths[i] for i in train], name=f"{tag}/train"),
            FileImages([paths[i] for i in test], name=f"{tag}/test"),
            labels[test], normal_class, self.classes,
        )
