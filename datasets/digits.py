"""`digits`: scikit-learn's bundled 8×8 handwritten digits, one class normal at a time.

The embedded default benchmark: 1,797 real images (about 180 per class) that ship inside
scikit-learn, so it runs on any machine with no download.

Protocol. Each of the ten classes is split once into a training part and a held-out part by
a permutation drawn from `split_seed` (the held-out part is `round(test_fraction · n)`
images). For normal class c, the detector trains on the training part of c; the test set is
every held-out image, in class order: those of c are normal, those of the nine other classes
anomalous, as CIFAR-10's one-vs-rest protocol does with its test split. The test images are
the same for every normal class, so a feature cache extracts them once. The split does not
depend on the run's seed: seeds measure the method's variance, not the split's.

Pixels (0–16 in scikit-learn) are scaled to 0–255 uint8 grayscale; methods resize them and
make three channels through the same transform path as any other dataset.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bench.benchmark import Benchmark, OneClassSplit, one_vs_rest
from bench.context import RunContext
from bench.images import ArrayImages
from bench.registry import register_dataset

DIGIT_NAMES = tuple(str(d) for d in range(10))


@lru_cache(maxsize=1)
def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as uint8 N×8×8 in 0–255, and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def held_out_indices(labels: np.ndarray, test_fraction: float, split_seed: int) -> dict[int, tuple]:
    """Class → (train indices, held-out indices), each class permuted by its own seeded draw."""
    parts = {}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        order = np.random.default_rng([split_seed, int(label)]).permutation(members)
        n_test = int(round(test_fraction * len(members)))
        parts[int(label)] = (np.sort(order[n_test:]), np.sort(order[:n_test]))
    return parts


@register_dataset("digits", groups=("embedded",))
class Digits(Benchmark):
    """scikit-learn's 8×8 handwritten digits (embedded, no download), one digit normal vs the rest."""

    classes = DIGIT_NAMES
    image_size = 8
    # digits-fsde / -fsgan (bench.datasets.near_sets): embedded, so built by a CPU-sized generator
    near_set_defaults = {"generator_profile": "smoke", "generator_steps": 600}

    def __init__(self, *, test_fraction: float = 0.5, split_seed: int = 0):
        self.test_fraction = test_fraction
        self.split_seed = split_seed

    def usability_problems(self, root, classes: list[int]) -> list:
        """A `test_fraction` that leaves a selected digit without training or held-out images."""
        from bench.inputs import Lacking

        parts = held_out_indices(digit_images()[1], self.test_fraction, self.split_seed)
        empty = [c for c in classes if not len(parts[c][0]) or not len(parts[c][1])]
        if not empty:
            return []
        side = "training" if not len(parts[empty[0]][0]) else "held-out"
        return [Lacking(f"dataset {self.name}: test_fraction={self.test_fraction} leaves digit {empty[0]} without "
                        f"{side} images", None, "choose a test_fraction nearer 0.5")]

    def train_size(self, normal_class: int, ctx: RunContext) -> int:
        return len(held_out_indices(digit_images()[1], self.test_fraction, self.split_seed)[normal_class][0])

    def split(self, normal_class: int, ctx: RunContext) -> OneClassSplit:
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        images, labels = digit_images()
        parts = held_out_indices(labels, self.test_fraction, self.split_seed)
        train = parts[normal_class][0]
        test = np.concatenate([parts[c][1] for c in sorted(parts)])
        tag = f"digits/f{self.test_fraction}-s{self.split_seed}"
        everything = ArrayImages(images)
        return one_vs_rest(
            everything.subset(train, name=f"{tag}/train/c{normal_class}"),
            everything.subset(test, name=f"{tag}/test"),
            labels[test], normal_class, self.classes,
        )
