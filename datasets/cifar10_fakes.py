"""CIFAR-10-FSDE and CIFAR-10-FSGAN: real CIFAR-10 images of a class against generated ones.

Protocol (inferred from FITYMI's release; the paper's evaluation code is not public): normal
class c trains on its 5,000 CIFAR-10 training images; the test set is the 1,000 real CIFAR-10
test images of c (normal) against the fakes of class c (anomalous).

Fake files: one uint8 `.npy` array N×H×W×3 holding N/10 fakes per class in class order (class
c is `array[c·n : (c+1)·n]`), FITYMI's released format. They are loaded with
`allow_pickle=False`, so a file cannot run code.

- `cifar10-fsde`: FITYMI's released CIFAR-10-FSDE test fakes (1,000 per class, from a
  score-based diffusion model). No download link works without a browser: see `fetch_hint`.
- `cifar10-fsgan`: the GAN counterpart. The paper's files were never released; any bank in
  the format above works — for instance 1,000 fakes per class from a GAN trained on that
  class alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.benchmark import NORMAL, Benchmark, OneClassSplit
from bench.context import RunContext
from bench.datafiles import DataFile
from bench.datasets.cifar import CIFAR10, CIFAR10_CLASSES, load_cifar
from bench.errors import UserError
from bench.generators.bank import class_slice, load_fake_bank
from bench.images import ArrayImages
from bench.registry import register_dataset


class CIFAR10VsFakes(Benchmark):
    """Shared split: real test images of class c against the bank's fakes of class c."""

    classes = CIFAR10_CLASSES
    image_size = 32
    bank_file: str

    def data_files(self) -> list:
        cifar10 = CIFAR10()
        return [DataFile(f"{cifar10.folder}/{f.path}", md5=f.md5) for f in cifar10.data_files()] + [
            DataFile(self.bank_file)
        ]

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        root = Path(ctx.data_root)
        self.check(root)
        bank = load_fake_bank(root / self.bank_file, len(self.classes))
        fakes = class_slice(bank, normal_class, len(self.classes))
        train_images, train_labels, _ = load_cifar(CIFAR10(), root, train=True)
        test_images, test_labels, _ = load_cifar(CIFAR10(), root, train=False)
        real = test_images[test_labels == normal_class]
        if fakes.shape[1:] != real.shape[1:]:
            raise UserError(f"{root / self.bank_file}: fakes are {fakes.shape[1:]}, CIFAR-10 images {real.shape[1:]}")
        is_anomaly = np.arange(len(real) + len(fakes)) >= len(real)
        return OneClassSplit(
            train=ArrayImages(train_images[train_labels == normal_class], name=f"cifar10/train/c{normal_class}"),
            test=ArrayImages(np.concatenate([real, fakes]), name=f"{self.name}/test/c{normal_class}"),
            is_anomaly=is_anomaly,
            anomaly_class=np.where(is_anomaly, "fake", NORMAL),
            class_name=self.classes[normal_class],
        )


@register_dataset("cifar10-fsde", groups=("near",))
class CIFAR10FSDE(CIFAR10VsFakes):
    """CIFAR-10 class c vs FITYMI's released diffusion fakes of class c (near-distribution)."""

    bank_file = "fitymi/cifar10_fsde.npy"
    fetch_hint = (
        "download FITYMI's CIFAR-10-FSDE file from https://drive.google.com/file/d/1_sKwq1yG-0zdvUHBRXItJ6Cib6lpQJja "
        "(a browser is needed), save the .npy as <data root>/fitymi/cifar10_fsde.npy, and `bench data fetch cifar10`"
    )


@register_dataset("cifar10-fsgan", groups=("near",))
class CIFAR10FSGAN(CIFAR10VsFakes):
    """CIFAR-10 class c vs GAN fakes of class c from a bank you provide (near-distribution)."""

    bank_file = "fitymi/cifar10_fsgan.npy"
    fetch_hint = (
        "no public file exists: save GAN fakes as uint8 N×32×32×3 .npy, N/10 per class in class order, at "
        "<data root>/fitymi/cifar10_fsgan.npy (e.g. 1,000 per class from a GAN trained on each class alone), "
        "and `bench data fetch cifar10`"
    )
