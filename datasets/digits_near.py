"""Embedded near-distribution benchmarks built from the digits: `digits-fsde`, `digits-fsgan`,
`digits-worst`. Like `digits`, they need no download.

`digits-fsde` / `digits-fsgan` — the small analogues of CIFAR-10-FSDE / -FSGAN. Normal class
c trains on the training part of digit c (the `digits` split); the test set is the held-out
real images of c (normal) against as many fakes of c (anomalous), made by a generator —
score-based diffusion for FSDE, DCGAN for FSGAN — trained on that same training part. The
bank comes from the generator's `generator_profile` (default `smoke`: these benchmarks are
embedded and built on any CPU) trained for `generator_steps` (default 600: several times the
diffusion smoke profile's, so the fakes are closer to the class than those the methods'
smoke profiles make in seconds; trained once per class), under
`generator_seed` and the "benchmark" stream, so it is never the bank a method trains on,
even with the same seed. It is built once, cached with
the other fake banks (`$BENCH_CACHE/fakes/`), and reproducible from its seed.

`digits-worst` — the `digits` split with FITYMI's CIFAR-10-vs-CIFAR-100 aggregation: an
AUROC per anomaly class (held-out normals against one other digit at a time), and the
minimum over the nine reported (`headline` auroc-worst).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from bench.benchmark import NORMAL, OneClassSplit
from bench.context import RunContext
from bench.digest import digest
from bench.datasets.digits import DIGIT_NAMES, Digits, digit_images, held_out_indices
from bench.generators import generator_params
from bench.generators.bank import BankRequest, fake_bank
from bench.images import ArrayImages
from bench.registry import register_dataset


class DigitsVsFakes(Digits):
    """Shared split: held-out real digits of class c against a generator's fakes of c."""

    classes = DIGIT_NAMES
    generator: ClassVar[str]

    def __init__(
        self,
        *,
        test_fraction: float = 0.5,
        split_seed: int = 0,
        generator_profile: str = "smoke",
        generator_steps: int | None = 600,
        generator_params: Mapping[str, Any] | None = None,
        generator_seed: int = 0,
    ):
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.generator_profile = generator_profile
        self.generator_steps = generator_steps
        self.generator_params = generator_params
        self.generator_seed = generator_seed

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        generator_params(cls.generator, params["generator_profile"], cls._overrides(params))

    @staticmethod
    def _overrides(params: Mapping[str, Any]) -> dict:
        steps = {} if params["generator_steps"] is None else {"train_steps": params["generator_steps"]}
        return {**steps, **(params["generator_params"] or {})}

    def _parts(self, normal_class: int) -> tuple[np.ndarray, ArrayImages, np.ndarray, BankRequest]:
        """All digits, class c's training part, its held-out indices, and the bank's request."""
        images, labels = digit_images()
        train_indices, held_out = held_out_indices(labels, self.test_fraction, self.split_seed)[normal_class]
        tag = f"digits/f{self.test_fraction}-s{self.split_seed}"
        train = ArrayImages(images).subset(train_indices, name=f"{tag}/train/c{normal_class}")
        request = BankRequest(
            self.generator,
            generator_params(self.generator, self.generator_profile, self._overrides(self.get_params())),
            n=len(held_out),
            seed=self.generator_seed,
            stream="benchmark",
        )
        return images, train, held_out, request

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        images, train, held_out, request = self._parts(normal_class)
        bank, _ = fake_bank(train, request, ctx)  # the run's device, caches and progress
        fakes = bank[..., 0]  # the generator learned grayscale: its three channels are equal
        is_anomaly = np.arange(2 * len(held_out)) >= len(held_out)
        return OneClassSplit(
            train=train,
            test=ArrayImages(
                np.concatenate([images[held_out], fakes]),
                name=f"{self.name}/{train.name.rpartition('/train/')[0]}/test/c{normal_class}",
            ),
            is_anomaly=is_anomaly,
            anomaly_class=np.where(is_anomaly, "fake", NORMAL),
            class_name=self.classes[normal_class],
        )

    def fingerprint(self, normal_class: int, ctx: RunContext, split: OneClassSplit | None = None) -> str:
        """Made from what determines the split, so that checking a record never trains a
        generator: the real training and held-out digits, the bank's identity (generator,
        parameters, seed, stream, size, training images) and the generator's code."""
        from bench.code_identity import plugin_identity
        from bench.generators import generators

        images, train, held_out, request = self._parts(normal_class)
        entry = generators.get(self.generator)
        return digest({
            "train": train.key,
            "real": ArrayImages(images[held_out]).key,
            "bank": request.identity(train),
            "generator": plugin_identity(entry.factory, entry.distribution),
            "class_name": self.classes[normal_class],
        })


@register_dataset("digits-fsde", groups=("near", "embedded"))
class DigitsFSDE(DigitsVsFakes):
    """Held-out digits of one class vs score-based diffusion fakes of it (embedded near set)."""

    generator = "diffusion"


@register_dataset("digits-fsgan", groups=("near", "embedded"))
class DigitsFSGAN(DigitsVsFakes):
    """Held-out digits of one class vs DCGAN fakes of it (embedded near set)."""

    generator = "dcgan"


@register_dataset("digits-worst", groups=("near", "embedded"))
class DigitsWorst(Digits):
    """digits, reported as the worst AUROC over the nine anomaly digits (embedded near set)."""

    headline = "auroc-worst"
