"""Fake banks: a generator's samples of one class, made once and cached on disk.

A bank is uint8 `N×H×W×3` (FITYMI's released layout). `fake_bank` trains the generator on
the class's images and samples it — or loads the bank a previous call made with the same
identity: the training images' content key (`bench.images`: another image changes it), the
generator's name and resolved hyper-parameters (their hash is in the file name), the seed and
stream, and N; the folder is named after the image set's name, for people to find. Beside each
`.npy` lie a PNG grid of its first images for a person to look at and a JSON file saying
how it was made (identity, generator losses, seconds), and a grid of the real training
images at the bank's size (`.real.png`, for `bench report`). Parallel workers asking for the same
bank wait on a file lock instead of training twice.

The *stream* separates banks that must differ even under one seed: the near-distribution
benchmarks draw their test fakes from stream "benchmark", methods their training fakes from
stream "method", so a method never trains on the fakes it is tested on.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from bench.atomic import atomic_write, write_json
from bench.context import RunContext
from bench.digest import digest
from bench.errors import UserError
from bench.images import ImageSet

BANK_VERSION = 1


@dataclass(frozen=True)
class BankRequest:
    """Which bank: `n` fakes from generator `name` with `params`, trained on `images`."""

    name: str
    params: Mapping[str, Any]
    n: int
    seed: int
    stream: str = "method"

    def identity(self, images: ImageSet) -> dict[str, Any]:
        return {
            "version": BANK_VERSION,
            "images": images.key,
            "n_images": len(images),
            "generator": self.name,
            "params": dict(self.params),
            "n": self.n,
            "seed": self.seed,
            "stream": self.stream,
        }

    def torch_seed(self) -> int:
        """The seed the generator runs under: one per (seed, stream)."""
        return int(digest(f"{self.stream}:{self.seed}", 8), 16)

    def digest(self, images: ImageSet) -> str:
        return digest(self.identity(images), 12)

    def path(self, folder: Path, images: ImageSet) -> Path:
        """The bank's file under the fake-bank cache `folder` (in a folder named after the
        images' name; the identity, content key included, is in the file name's digest)."""
        subfolder = re.sub(r"[^A-Za-z0-9._-]+", "_", images.name or "unnamed")
        return Path(folder) / subfolder / f"{self.name}-{self.digest(images)}-{self.stream}-s{self.seed}-n{self.n}.npy"


def make_bank(images: ImageSet, request: BankRequest, ctx: RunContext) -> tuple[np.ndarray, dict]:
    """Train the generator on `images` and sample `request.n` fakes; (bank, what happened)."""
    from bench.generators import generators
    from bench.seeding import seeded

    generator = generators.get(request.name).factory(**request.params)
    start = time.perf_counter()
    with seeded(request.torch_seed(), ctx.device):
        generator.fit(images, ctx)
        fitted = time.perf_counter()
        bank = generator.sample(request.n, ctx)
    report = {
        "fit_s": fitted - start,
        "sample_s": time.perf_counter() - fitted,
        "loss_history": [x if math.isfinite(x) else None for x in generator.loss_history_],  # JSON has no NaN
    }
    return bank, report


def fake_bank(images: ImageSet, request: BankRequest, ctx: RunContext) -> tuple[np.ndarray, Path | None]:
    """The bank for `request` on `images`: cached under the run's fake-bank cache when the image
    set has a key and caching is on, else made afresh. Returns the bank (uint8 N×H×W×3) and
    its file (None when not cached)."""
    folder = ctx.cache("fakes")
    if folder is None or images.key is None:
        return make_bank(images, request, ctx)[0], None
    path = request.path(folder, images)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_suffix(".lock")):
        if path.exists():
            try:
                return np.load(path, allow_pickle=False), path
            except (OSError, ValueError):
                pass  # unreadable: made again and replaced
        bank, report = make_bank(images, request, ctx)
        write_grid(bank, path.with_suffix(".png"))
        write_grid(as_bank(images, bank.shape[1:3]), path.with_suffix(".real.png"))  # the real images beside them
        write_json(path.with_suffix(".json"), {**request.identity(images), **report})
        with atomic_write(path) as handle:
            np.save(handle, bank)
    return bank, path


def as_bank(images: ImageSet, size: tuple[int, int], limit: int = 256) -> np.ndarray:
    """The first `limit` images as a bank would hold them: uint8 N×H×W×3 at `size` (H, W)."""
    from PIL import Image

    pictures = (images[i].convert("RGB").resize(size[::-1], Image.BILINEAR) for i in range(min(limit, len(images))))
    return np.stack([np.asarray(picture, dtype=np.uint8) for picture in pictures])


def write_grid(bank: np.ndarray, path: Path, columns: int = 16, limit: int = 256) -> None:
    """The first `limit` images of a bank tiled `columns` wide as a PNG, 1 px apart."""
    from PIL import Image

    images = bank[:limit]
    rows = -(-len(images) // columns)
    height, width = images.shape[1:3]
    grid = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, 3), 255, np.uint8)
    for index, image in enumerate(images):
        top, left = 1 + (index // columns) * (height + 1), 1 + (index % columns) * (width + 1)
        grid[top : top + height, left : left + width] = image
    scale = max(1, 1024 // grid.shape[1])  # 8×8 digits are unreadable at their own size
    picture = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    with atomic_write(path) as handle:
        picture.save(handle, format="PNG")


def load_fake_bank(path: Path, classes: int) -> np.ndarray:
    """A fake bank file in FITYMI's format, checked: uint8, N×H×W×3, N a multiple of
    `classes` (class c is the c-th of `classes` equal slices). Loaded with
    `allow_pickle=False`, so a file cannot run code."""
    try:
        bank = np.load(path, allow_pickle=False, mmap_mode="r")
    except ValueError as error:
        raise UserError(f"{path}: not a plain .npy array ({error})") from None
    if bank.dtype != np.uint8 or bank.ndim != 4 or bank.shape[3] != 3 or len(bank) % classes:
        raise UserError(
            f"{path}: expected uint8 N×H×W×3 with N a multiple of {classes} (class order), "
            f"got {bank.dtype} {bank.shape}"
        )
    return bank


def class_slice(bank: np.ndarray, normal_class: int, classes: int) -> np.ndarray:
    """Class `normal_class`'s fakes of a class-ordered bank, as an in-memory array."""
    per_class = len(bank) // classes
    return np.ascontiguousarray(bank[normal_class * per_class : (normal_class + 1) * per_class])


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
