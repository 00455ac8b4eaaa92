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
import shutil
from pathlib import Path

from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.datafiles import Archive, DataFile
from bench.images import ArrayImages
from bench.registry import register_dataset


class IdxDataset(Benchmark):
    """Shared loader: verified `.gz` files → unpacked idx → torchvision's loader."""

    image_size = 28

    def torchvision_class(self):
        raise NotImplementedError

    def unpacked(self, root: Path) -> None:
        """Check the .gz files, then unpack any idx file not unpacked yet."""
        folder = self.data_dir(root)
        self.check(root)
        for data_file in self.data_files():
            target = folder / data_file.path[: -len(".gz")]
            if not target.exists():
                with gzip.open(folder / data_file.path, "rb") as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)

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


def idx_files(checksums: dict[str, str]) -> tuple[DataFile, ...]:
    return tuple(DataFile(name, md5=md5) for name, md5 in checksums.items())


def idx_archives(base_url: str, files, destination: str) -> tuple[Archive, ...]:
    return tuple(Archive(f"{base_url}{f.path}", md5=f.md5, destination=destination) for f in files)


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
    files = MNIST_FILES
    archives = idx_archives("https://ossci-datasets.s3.amazonaws.com/mnist/", MNIST_FILES, "MNIST/raw")

    def torchvision_class(self):
        from torchvision.datasets import MNIST as TorchvisionMNIST

        return TorchvisionMNIST


@register_dataset("fmnist", groups=("standard",))
class FashionMNIST(IdxDataset):
    """Fashion-MNIST (28×28 clothing), one class normal against the nine others."""

    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    folder = "FashionMNIST/raw"
    files = FMNIST_FILES
    archives = idx_archives("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", FMNIST_FILES, "FashionMNIST/raw")

    def torchvision_class(self):
        from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

        return TorchvisionFashionMNIST
