"""MNIST and Fashion-MNIST, one class normal against the rest.

Protocol: train on every training image of normal class c (about 6,000; the classes are not
balanced in MNIST), test on the whole 10,000-image test split, the nine other classes
anomalous. Images are 28×28 grayscale; methods make three channels through the shared
transform path (PANDA and Transformaly convert to grayscale-RGB the same way).

Files: the four published `.gz` idx files in `<root>/<MNIST|FashionMNIST>/raw/`, checked
against their MD5 and unpacked next to themselves, which is what torchvision's loaders read.
"""

from __future__ import annotations

import gzip
import math
import shutil
import struct
from pathlib import Path

from bench.atomic import atomic_write
from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.images import ArrayImages
from bench.notices import discarded
from bench.registry import register_dataset


class IdxDataset(Benchmark):
    """Shared loader: verified `.gz` files → unpacked idx → torchvision's loader."""

    image_size = 28

    def torchvision_class(self):
        raise NotImplementedError

    def unpacked(self, root: Path) -> None:
        """Check the .gz files, then unpack every idx file not unpacked yet or damaged (its
        size disagrees with its header: an unpack cut short). Unpacking writes a temporary
        file and moves it into place, so a reader never sees half a file."""
        folder = self.data_dir(root)
        self.check(root)
        for data_file, target in zip(self.data_files(), self.unpacked_paths(root)):
            problem = idx_problem(target) if target.exists() else None
            if problem:
                discarded(target, problem)
            if problem or not target.exists():
                with gzip.open(folder / data_file.path, "rb") as source, atomic_write(target) as out:
                    shutil.copyfileobj(source, out)

    def unpacked_paths(self, root: Path) -> list[Path]:
        return [self.data_dir(root) / f.path[: -len(".gz")] for f in self.data_files()]

    def derived_problems(self, root: Path) -> list[tuple[Path, str]]:
        problems = [(path, idx_problem(path)) for path in self.unpacked_paths(root) if path.exists()]
        return [(path, problem) for path, problem in problems if problem]

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = ctx.data_root
        self.unpacked(root)
        loader = self.torchvision_class()
        train = loader(str(root), train=True, download=False)
        test = loader(str(root), train=False, download=False)
        train_labels = train.targets.numpy()
        return one_vs_rest(
            ArrayImages(train.data.numpy()[train_labels == normal_class], name=f"{self.name}/train/c{normal_class}"),
            ArrayImages(test.data.numpy(), name=f"{self.name}/test"),
            test.targets.numpy(), normal_class, self.classes,
        )


def idx_problem(path: Path) -> str | None:
    """What is wrong with an unpacked idx file (None: nothing): its size must be the header's
    (magic 0x0000 08 NN: unsigned bytes, NN dimensions of 4-byte big-endian sizes) plus the
    product of the dimensions."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(4)
        if len(header) < 4 or header[:3] != b"\x00\x00\x08" or not 1 <= header[3] <= 4:
            return "not an unsigned-byte idx file"
        raw = handle.read(4 * header[3])
    if len(raw) < 4 * header[3]:
        return "its header is cut short"
    dimensions = struct.unpack(f">{header[3]}I", raw)
    expected = 4 + 4 * header[3] + math.prod(dimensions)
    return None if size == expected else f"{size} bytes, its header says {expected}: unpacking was cut short"


def idx_files(checksums: dict[str, str]) -> tuple[DataFile, ...]:
    return tuple(DataFile(name, md5=md5) for name, md5 in checksums.items())


def idx_archives(base_urls: tuple[str, ...], files, destination: str) -> tuple[Archive, ...]:
    """One verified download per file, from the first of `base_urls` that has it."""
    first, *mirrors = base_urls
    return tuple(Archive(f"{first}{f.path}", md5=f.md5, destination=destination,
                         mirrors=tuple(f"{mirror}{f.path}" for mirror in mirrors)) for f in files)


MNIST_FILES = idx_files({
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
})
FMNIST_FILES = idx_files({
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
})


@register_dataset("mnist", groups=("standard",))
class MNIST(IdxDataset):
    """MNIST handwritten digits (28×28), one digit normal against the nine others."""

    classes = tuple(str(d) for d in range(10))
    folder = "MNIST/raw"
    max_train_images = 6742  # digit 1
    files = MNIST_FILES
    archives = idx_archives(("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
                            MNIST_FILES, "MNIST/raw")  # torchvision's mirrors, in its order

    def torchvision_class(self):
        from torchvision.datasets import MNIST as TorchvisionMNIST

        return TorchvisionMNIST


@register_dataset("fmnist", groups=("standard",))
class FashionMNIST(IdxDataset):
    """Fashion-MNIST (28×28 clothing), one class normal against the nine others."""

    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    folder = "FashionMNIST/raw"
    max_train_images = 6000
    files = FMNIST_FILES
    archives = idx_archives(("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
                            FMNIST_FILES, "FashionMNIST/raw")

    def torchvision_class(self):
        from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

        return TorchvisionFashionMNIST
