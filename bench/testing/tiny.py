"""Tiny data for the method and generator checks: real 8×8 digits and obvious anomalies."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench.images import ArrayImages, ConcatImages, ImageSet

NORMAL, ANOMALY, OBVIOUS = "normal", "anomaly", "obvious"


@dataclass(frozen=True, eq=False)
class TinyData:
    """Training images of one class, and test images with what each is: `kind[i]` is
    "normal" (held-out images of the training class), "anomaly" (another class) or "obvious"
    (uniform noise, which any detector must find stranger than the normal images)."""

    train: ImageSet
    test: ImageSet
    kind: np.ndarray


@lru_cache(maxsize=4)
def tiny_digits(normal: int = 0, n_train: int = 30, n_test: int = 10, n_noise: int = 4) -> TinyData:
    """`n_train` digits of class `normal` (scikit-learn's 8×8 digits as uint8 grayscale); test:
    the next `n_test` of that class, `n_test` digits of the next class and `n_noise` uniform
    noise images (seeded). The same object for the same arguments, so fits can be shared."""
    from bench.datasets.digits import digit_images

    images, labels = digit_images()
    normals = np.flatnonzero(labels == normal)
    others = np.flatnonzero(labels == (normal + 1) % 10)
    noise = np.random.default_rng(0).integers(0, 256, size=(n_noise, *images.shape[1:]), dtype=np.uint8)
    train = ArrayImages(images[normals[:n_train]])
    held_out = normals[n_train : n_train + n_test]
    test = ConcatImages(
        [ArrayImages(images[held_out]), ArrayImages(images[others[:n_test]]), ArrayImages(noise)]
    )
    kind = np.array([NORMAL] * n_test + [ANOMALY] * n_test + [OBVIOUS] * n_noise)
    return TinyData(train, test, kind)
