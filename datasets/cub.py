"""CUB-200-2011 birds, one species normal against the rest.

Protocol (PANDA reports 95.3 on birds; its exact protocol is not published — a user
reproduced it on the first 20 classes, `--classes 0,1,...,19`): normal class c trains on its
images of the official training split (about 30), and the test set is the whole official
test split (5,794 images), every other species anomalous; `test_classes` = N keeps only the
test images of the first N species (PANDA#1's 20-class reading). Images are read lazily.

torchvision has no CUB loader, so the official text files are read here: `images.txt`
(id, path), `image_class_labels.txt` (id, class 1–200), `train_test_split.txt`
(id, is_training), joined on the image id; `classes.txt` names the species
(`001.Black_footed_Albatross` → `Black_footed_Albatross`), the class names records carry.
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


def read_table(path: Path) -> dict[int, str]:
    """`<id> <value>` lines → {id: value}."""
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if not key.isdigit() or not value:
            raise UserError(f"{path}:{number}: expected '<id> <value>', got {line!r}")
        table[int(key)] = value
    return table


@register_dataset("cub200", groups=("standard",))
class CUB200(Benchmark):
    """CUB-200-2011 birds, one species normal (official train images) against the test split."""

    classes = tuple(f"bird-{i:03d}" for i in range(1, 201))  # until classes.txt is there
    folder = "CUB_200_2011"
    tags = ("high-res",)
    files = (
        DataFile("images.txt"),
        DataFile("image_class_labels.txt"),
        DataFile("train_test_split.txt"),
        DataFile("images"),
    )
    archives = (Archive("https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz",
                        md5="97eceeb196236b17998738112f37df78"),)

    def __init__(self, *, test_classes: int | None = None):
        self.test_classes = test_classes

    def class_names(self, root: Path) -> tuple[str, ...]:
        """Species names from `classes.txt` (`<id> <NNN.Name>`), in class-id order."""
        path = self.data_dir(root) / "classes.txt"
        if not path.is_file():
            return tuple(self.classes)
        names = read_table(path)
        if sorted(names) != list(range(1, len(self.classes) + 1)):
            raise UserError(f"{path}: expected ids 1–{len(self.classes)}, one line each")
        return tuple(names[i].partition(".")[2] or names[i] for i in sorted(names))

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        folder = self.data_dir(root)
        self.check(root)
        paths = read_table(folder / "images.txt")
        labels = {k: int(v) - 1 for k, v in read_table(folder / "image_class_labels.txt").items()}
        training = {k: v.strip() == "1" for k, v in read_table(folder / "train_test_split.txt").items()}
        if not paths.keys() == labels.keys() == training.keys():
            raise UserError(f"dataset cub200: the three tables in {folder} list different image ids")
        ids = sorted(paths)
        train = [folder / "images" / paths[i] for i in ids if training[i] and labels[i] == normal_class]
        test_ids = [i for i in ids if not training[i] and labels[i] < (self.test_classes or len(self.classes))]
        return one_vs_rest(
            FileImages(train, name=f"cub200/train/c{normal_class}"),
            FileImages([folder / "images" / paths[i] for i in test_ids], name=f"cub200/test/{self.test_classes}"),
            np.array([labels[i] for i in test_ids], dtype=np.int64), normal_class, self.class_names(root),
        )
