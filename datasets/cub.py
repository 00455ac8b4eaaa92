"""CUB-200-2011 birds, one-class protocols.

Default protocol: one species is the normal class — normal class c trains on its images of
the official training split (about 30) — and the test set is the whole official test split
(5,794 images), every other species anomalous. `test_classes` = N keeps only the test images
of the first N species.

`normal_species` = N is the reading of PANDA's birds protocol ("the first 20 classes as normal
classes and the entire test set", its appendix C) by a user who tried to reproduce PANDA's
95.3 in talreiss/PANDA#1 (fork alexander-g/PANDA, commit a6b0849): the first N species
*together* are the one normal class — training on all their training images, about 30·N —
and the whole test split is tested, species N+1–200 anomalous. That user got 76.9 with it;
the authors answered that they reproduced 95.3 on their side and pointed at class labels and
sizes, without publishing their protocol. So PANDA's 95.3 is not known to come from this
reading (nor from the one-species default): compare with it knowing that.

torchvision has no CUB loader, so the official text files are read here: `images.txt`
(id, path), `image_class_labels.txt` (id, class 1–200), `train_test_split.txt`
(id, is_training), joined on the image id; `classes.txt` names the species
(`001.Black_footed_Albatross` → `Black_footed_Albatross`), the class names records carry.
Images are read lazily.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.benchmark import NORMAL, Benchmark, OneClassSplit, one_vs_rest
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
                        md5="97eceeb196236b17998738112f37df78",
                        mirrors=("http://www.vision.caltech.edu/visipedia-data/CUB-200-2011/CUB_200_2011.tgz",)),)

    def __init__(self, *, test_classes: int | None = None, normal_species: int | None = None):
        self.test_classes = test_classes
        self.normal_species = normal_species

    @classmethod
    def check_params(cls, params, profile: str) -> None:
        grouped = params["normal_species"]
        if grouped is not None and not (isinstance(grouped, int) and 1 <= grouped < len(cls.classes)):
            raise ValueError(f"normal_species must be an integer from 1 to {len(cls.classes) - 1}, got {grouped!r}")

    @property
    def max_train_images(self) -> int:
        return 30 * (self.normal_species or 1)  # at most 30 official training images per species

    def species_names(self, root: Path) -> tuple[str, ...]:
        """Species names from `classes.txt` (`<id> <NNN.Name>`), in class-id order."""
        path = self.data_dir(root) / "classes.txt"
        if not path.is_file():
            return tuple(self.classes)
        names = read_table(path)
        if sorted(names) != list(range(1, len(self.classes) + 1)):
            raise UserError(f"{path}: expected ids 1–{len(self.classes)}, one line each")
        return tuple(names[i].partition(".")[2] or names[i] for i in sorted(names))

    def class_names(self, root: Path) -> tuple[str, ...]:
        """The species, or with `normal_species` = N the one normal class of the first N."""
        species = self.species_names(root)
        if self.normal_species is None:
            return species
        return (f"species 1-{self.normal_species}",)

    def usability_problems(self, root: Path, classes: list[int]) -> list:
        """A selected species with no training image in the tables, and a `test_classes` that
        leaves a class without normal test images."""
        from bench.benchmark import test_classes_problem
        from bench.inputs import Lacking

        problems = []
        folder = self.data_dir(root)
        try:
            labels = {k: int(v) - 1 for k, v in read_table(folder / "image_class_labels.txt").items()}
            training = {k: v.strip() == "1" for k, v in read_table(folder / "train_test_split.txt").items()}
        except (OSError, ValueError, UserError) as error:
            return problems + [Lacking(f"dataset cub200: its tables cannot be read ({error})", folder,
                                       "`bench data fetch cub200` replaces them")]
        trained = {label for key, label in labels.items() if training.get(key)}
        species = [s for c in classes for s in self.species_of(c)]
        empty = [s for s in species if s not in trained]
        if empty:
            problems.append(Lacking(f"dataset cub200: species {empty[0]} has no training image in train_test_split.txt",
                                    folder, "`bench data fetch cub200` replaces the tables, or choose other --classes"))
        problem = test_classes_problem(self, classes)
        return problems + ([problem] if problem else [])

    def species_of(self, normal_class: int) -> range:
        """The species indices one normal class stands for."""
        return range(self.normal_species) if self.normal_species else range(normal_class, normal_class + 1)

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
        test_ids = [i for i in ids if not training[i] and labels[i] < (self.test_classes or len(self.classes))]
        test = FileImages([folder / "images" / paths[i] for i in test_ids], name=f"cub200/test/{self.test_classes}")
        test_labels = np.array([labels[i] for i in test_ids], dtype=np.int64)
        if self.normal_species is None:
            train = [folder / "images" / paths[i] for i in ids if training[i] and labels[i] == normal_class]
            return one_vs_rest(FileImages(train, name=f"cub200/train/c{normal_class}"), test, test_labels,
                               normal_class, self.class_names(root))
        if normal_class != 0:
            raise UserError(f"cub200 with normal_species={self.normal_species} has one normal class, 0")
        grouped = self.normal_species
        train = [folder / "images" / paths[i] for i in ids if training[i] and labels[i] < grouped]
        is_anomaly = test_labels >= grouped
        return OneClassSplit(
            train=FileImages(train, name=f"cub200/train/first{grouped}"),
            test=test,
            is_anomaly=is_anomaly,
            anomaly_class=np.where(is_anomaly, np.asarray(self.species_names(root))[test_labels], NORMAL),
            class_name=self.class_names(root)[0],
        )
