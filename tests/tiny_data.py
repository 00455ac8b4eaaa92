"""Tiny data roots in each file-backed dataset's real on-disk format.

`BUILDERS` maps a registered dataset name to a function that writes a tiny root under a
folder and returns a `TinyRoot`: the normal classes it provides (at least two where the
dataset has two) and the class attributes to monkeypatch — the checksum tables, which must
name the tiny files' own digests. The writers are shared by the dataset tests and the
conformance suite (`tests/test_conformance.py`), which fails for a registered file-backed
dataset with no builder here.

Images differ from one another (seeded noise or distinct values), so that checks comparing
pixel content (no training image among the anomalous test images) mean something.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from bench import registry
from bench.datafiles import DataFile


@dataclass(frozen=True)
class TinyRoot:
    """What a builder made: the normal classes to split, and (class, attribute, value)
    triples to monkeypatch while the root is in use."""

    classes: tuple[int, ...]
    patches: tuple[tuple[type, str, object], ...] = ()

    def apply(self, monkeypatch) -> None:
        for target, attribute, value in self.patches:
            monkeypatch.setattr(target, attribute, value)


def dataset_class(name: str) -> type:
    return registry.datasets.get(name).factory


def checksums_of(adapter: type, folder: Path) -> tuple[DataFile, ...]:
    """`adapter.files` with the MD5 of the tiny files in `folder` wherever the real table has one."""
    return tuple(
        dataclasses.replace(f, md5=hashlib.md5((folder / f.path).read_bytes()).hexdigest()) if f.md5 else f
        for f in adapter.files
    )


def checksum_patch(adapter: type, folder: Path) -> tuple[type, str, tuple[DataFile, ...]]:
    """The patch that makes `adapter` accept the tiny files in `folder`."""
    return (adapter, "files", checksums_of(adapter, folder))


# -- CIFAR-10, CIFAR-100 (pickled batches) ------------------------------------------------------
def write_pickle(path: Path, payload) -> None:
    path.write_bytes(pickle.dumps(payload, protocol=2))


def fake_images(rng, n):
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


def write_cifar10(root: Path, per_class=(3, 2)) -> Path:
    """5 training batches and a test batch; `per_class` = (train per batch, test) per class."""
    from bench.datasets.cifar import CIFAR10_CLASSES

    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for batch in range(1, 6):
        labels = [c for c in range(10) for _ in range(per_class[0])]
        write_pickle(folder / f"data_batch_{batch}", {"data": fake_images(rng, len(labels)), "labels": labels})
    labels = [c for c in range(10) for _ in range(per_class[1])]
    write_pickle(folder / "test_batch", {"data": fake_images(rng, len(labels)), "labels": labels})
    write_pickle(folder / "batches.meta", {"label_names": list(CIFAR10_CLASSES)})
    return folder


def write_cifar100(root: Path) -> Path:
    """Train (2 per fine class) and test (1 per fine class) with fine and coarse labels."""
    from bench.datasets.cifar import FINE_TO_COARSE

    rng = np.random.default_rng(1)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, per_fine in (("train", 2), ("test", 1)):
        fine = [f for f in range(100) for _ in range(per_fine)]
        write_pickle(folder / name, {"data": fake_images(rng, len(fine)), "fine_labels": fine,
                                     "coarse_labels": FINE_TO_COARSE[fine].tolist()})
    write_pickle(folder / "meta", {"fine_label_names": [f"fine{i}" for i in range(100)],
                                   "coarse_label_names": [f"coarse{i}" for i in range(20)]})
    return folder


def cifar10_root(root: Path) -> TinyRoot:
    return TinyRoot((0, 1), (checksum_patch(dataset_class("cifar10"), write_cifar10(root)),))


def cifar100_root(root: Path) -> TinyRoot:
    return TinyRoot((0, 1), (checksum_patch(dataset_class("cifar100"), write_cifar100(root)),))


def cifar10_vs_cifar100_root(root: Path) -> TinyRoot:
    return TinyRoot((0, 1), cifar10_root(root).patches + cifar100_root(root).patches)


def write_fake_bank(path: Path, per_class: int = 4) -> Path:
    """A class-ordered bank, FITYMI's layout: `per_class` fakes of each CIFAR-10 class, class c
    filled with the value c."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.stack([np.full((32, 32, 3), c, dtype=np.uint8) for c in range(10) for _ in range(per_class)]))
    return path


def cifar10_fsde_root(root: Path) -> TinyRoot:
    """Tiny CIFAR-10 and FITYMI's released FSDE file in its layout (2 per class: the test size)."""
    tiny = cifar10_root(root)
    write_fake_bank(root / dataset_class("cifar10-fsde")().bank_path, per_class=2)
    return tiny


# -- MNIST, Fashion-MNIST (idx .gz files) -------------------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, per_class=(4, 3)) -> Path:
    """Train and test idx.gz files with `per_class` images of each of the 10 classes."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", per_class[0]), ("t10k", per_class[1])):
        labels = np.repeat(np.arange(10), count)
        images = rng.integers(0, 256, size=(len(labels), 28, 28))
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    return folder


def idx_root(name: str) -> Callable[[Path], TinyRoot]:
    def build(root: Path) -> TinyRoot:
        cls = dataset_class(name)
        return TinyRoot((0, 1), (checksum_patch(cls, write_idx(root / cls.folder)),))

    return build


# -- SVHN (.mat) --------------------------------------------------------------------------------
def write_svhn(folder: Path, per_class=(3, 2)) -> Path:
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name, count in (("train_32x32.mat", per_class[0]), ("test_32x32.mat", per_class[1])):
        digits = np.repeat(np.arange(10), count)
        labels = np.where(digits == 0, 10, digits).reshape(-1, 1)  # SVHN writes 0 as 10
        images = rng.integers(0, 256, size=(32, 32, 3, len(digits)), dtype=np.uint8)
        savemat(folder / name, {"X": images, "y": labels.astype(np.uint8)})
    return folder


def svhn_root(root: Path) -> TinyRoot:
    cls = dataset_class("svhn")
    return TinyRoot((0, 1), (checksum_patch(cls, write_svhn(root / cls.folder)),))


# -- MVTec AD (PNG tree) ------------------------------------------------------------------------
def png(path: Path, value: int, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (16, 16, 3) if mode == "RGB" else (16, 16)
    Image.fromarray(np.full(shape, value, dtype=np.uint8), mode=mode).save(path)


def write_category(root: Path, category: str = "screw", mode: str = "L", shift: int = 0) -> Path:
    """One category: 5 good training images, 2 good and 3 defective test images (two defect
    types, with masks); image values are distinct, offset by `shift`."""
    base = root / "mvtec" / category
    for i in range(5):
        png(base / "train" / "good" / f"{i:03d}.png", 10 * i + shift, mode)
    for i in range(2):
        png(base / "test" / "good" / f"{i:03d}.png", 100 + i + shift, mode)
    for defect, count in (("scratch_head", 2), ("thread_top", 1)):
        for i in range(count):
            png(base / "test" / defect / f"{i:03d}.png", 200 + i + shift, mode)
            png(base / "ground_truth" / defect / f"{i:03d}_mask.png", 255, "L")
    return base


def mvtec_root(root: Path) -> TinyRoot:
    classes = dataset_class("mvtec").classes
    write_category(root, "bottle", mode="RGB", shift=3)
    write_category(root, "screw")
    return TinyRoot((classes.index("bottle"), classes.index("screw")))


# -- CUB-200-2011 (text tables and JPEGs) -------------------------------------------------------
def jpeg(path: Path, value: int, size=(5, 7)) -> None:
    """A constant RGB JPEG of `size` (height, width): constant images survive JPEG exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, dtype=np.uint8)).save(path)


CUB_ROWS = [(1, "001.Albatross/a.jpg", 1, 1), (2, "001.Albatross/b.jpg", 1, 0), (3, "002.Auklet/c.jpg", 2, 1),
            (4, "002.Auklet/d.jpg", 2, 0), (5, "003.Cowbird/e.jpg", 3, 0), (6, "001.Albatross/f.jpg", 1, 1)]


def write_cub(root: Path) -> Path:
    """Six images of three species (id, path, species, is-training) as `CUB_ROWS`, 5×7 px."""
    base = root / "CUB_200_2011"
    for image_id, path, _, _ in CUB_ROWS:
        jpeg(base / "images" / path, 30 * image_id)
    (base / "images.txt").write_text("".join(f"{i} {p}\n" for i, p, _, _ in CUB_ROWS))
    (base / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, _, c, _ in CUB_ROWS))
    (base / "train_test_split.txt").write_text("".join(f"{i} {t}\n" for i, _, _, t in CUB_ROWS))
    return base


def cub_root(root: Path) -> TinyRoot:
    write_cub(root)
    return TinyRoot((0, 1))


# -- Flowers-102 (.mat tables and JPEGs) --------------------------------------------------------
def write_flowers(root: Path) -> Path:
    """12 images of 3 classes (labels 1, 1, 2, 2, 3, 3, 1, 2, 3, 1, 2, 3); train ids 1, 3, 5,
    val 2, 4, 6, test 7–12; image i is filled with the value i."""
    from scipy.io import savemat

    base = root / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    labels = np.array([1, 1, 2, 2, 3, 3, 1, 2, 3, 1, 2, 3])  # 1-based, image ids 1..12
    for image_id in range(1, 13):
        Image.fromarray(np.full((8, 8, 3), image_id, dtype=np.uint8)).save(base / "jpg" / f"image_{image_id:05d}.jpg")
    savemat(base / "imagelabels.mat", {"labels": labels})
    savemat(base / "setid.mat", {"trnid": np.array([1, 3, 5]), "valid": np.array([2, 4, 6]), "tstid": np.arange(7, 13)})
    return base


def flowers_root(root: Path) -> TinyRoot:
    cls = dataset_class("flowers102")
    return TinyRoot((0, 1), (checksum_patch(cls, write_flowers(root)),))


# -- Stanford Cars (devkit .mat files and JPEGs) ------------------------------------------------
CAR_NAMES = ["Audi A4", "BMW M3", "Fiat 500"] + [f"Model {i}" for i in range(4, 197)]  # the devkit lists all 196


def car_annotations(names, classes):
    records = np.zeros(len(names), dtype=[("fname", object), ("class", np.uint8)])
    records["fname"] = names
    records["class"] = classes
    return {"annotations": records}


def write_cars(root: Path) -> Path:
    """Train: 4 images of models 1, 1, 2, 3; test: 5 images of models 1, 2, 2, 3, 3; 6×9 px."""
    from scipy.io import savemat

    base = root / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    savemat(base / "devkit" / "cars_meta.mat", {"class_names": np.array(CAR_NAMES, dtype=object)})
    for offset, (split, classes) in enumerate((("train", [1, 1, 2, 3]), ("test", [1, 2, 2, 3, 3]))):
        folder = base / f"cars_{split}"
        folder.mkdir()
        names = [f"{i:05d}.jpg" for i in range(1, len(classes) + 1)]
        for i, name in enumerate(names):
            jpeg(folder / name, 20 * i + 120 * offset, size=(6, 9))
        target = base / ("devkit/cars_train_annos.mat" if split == "train" else "cars_test_annos_withlabels.mat")
        savemat(target, car_annotations(names, classes))
    return base


def cars_root(root: Path) -> TinyRoot:
    cls = dataset_class("stanford-cars")
    return TinyRoot((0, 1), (checksum_patch(cls, write_cars(root)),))


# -- WBC (BMPs and a labels CSV) ----------------------------------------------------------------
WBC_LABELS = [1] * 10 + [2] * 3 + [3] * 2 + [4] * 2 + [5]  # 5: the lone basophil


def write_wbc(root: Path) -> Path:
    """18 BMPs (12×12, image i filled with 10·i) and the labels CSV `WBC_LABELS`."""
    base = root / "segmentation_WBC"
    (base / "Dataset 1").mkdir(parents=True)
    for image_id in range(1, len(WBC_LABELS) + 1):
        image = Image.fromarray(np.full((12, 12, 3), 10 * image_id, dtype=np.uint8))
        image.save(base / "Dataset 1" / f"{image_id:03d}.bmp")
    (base / "Class Labels of Dataset 1.csv").write_text(
        "image ID,class label\n" + "".join(f"{i},{c}\n" for i, c in enumerate(WBC_LABELS, 1))
    )
    return base


def wbc_root(root: Path) -> TinyRoot:
    return TinyRoot((0, 1), (checksum_patch(dataset_class("wbc"), write_wbc(root)),))


BUILDERS: dict[str, Callable[[Path], TinyRoot]] = {
    "cifar10": cifar10_root,
    "cifar100": cifar100_root,
    "cifar10-vs-cifar100": cifar10_vs_cifar100_root,
    "cifar10-fsde": cifar10_fsde_root,
    "cifar10-fsgan": cifar10_root,  # its fakes are generated
    "mnist": idx_root("mnist"),
    "fmnist": idx_root("fmnist"),
    "svhn": svhn_root,
    "mvtec": mvtec_root,
    "cub200": cub_root,
    "flowers102": flowers_root,
    "stanford-cars": cars_root,
    "wbc": wbc_root,
}
