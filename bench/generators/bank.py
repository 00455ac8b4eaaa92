"""Fake banks: a generator's samples of one class, made once and cached on disk.

A bank is uint8 `N×H×W×3` (FITYMI's released layout). `fake_bank` trains the generator on
the class's images and samples it — or loads the bank a previous call made with the same
identity: the image set's key (dataset, split and class), the generator's name and resolved
hyper-parameters (their hash is in the file name), the seed and stream, and N. Beside each
`.npy` lie a PNG grid of its first images for a person to look at and a JSON file saying
how it was made (identity, generator losses, seconds). Parallel workers asking for the same
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
from bench.notices import discarded

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
        """The bank's file under the fake-bank cache `folder`."""
        subfolder = re.sub(r"[^A-Za-z0-9._-]+", "_", str(images.key))
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
            cached = load_cached_bank(path, request.n)
            if cached is not None:
                return cached, path
        bank, report = make_bank(images, request, ctx)
        write_grid(bank, path.with_suffix(".png"))
        write_json(path.with_suffix(".json"), {**request.identity(images), **report})
        with atomic_write(path) as handle:
            np.save(handle, bank)
    return bank, path


def load_cached_bank(path: Path, n: int) -> np.ndarray | None:
    """The cached bank at `path` if it is what `fake_bank` stores — uint8 `n`×H×W×3 — else
    None, the damaged file deleted with a notice (and made again by the caller)."""
    try:
        bank = np.load(path, allow_pickle=False)
        if bank.dtype != np.uint8 or bank.ndim != 4 or bank.shape[0] != n or bank.shape[3] != 3:
            raise ValueError(f"{bank.dtype} {bank.shape}, expected uint8 {n}×H×W×3")
    except (OSError, ValueError, EOFError) as error:
        path.unlink(missing_ok=True)
        discarded(path, str(error).splitlines()[0][:160] if str(error) else type(error).__name__)
        return None
    return bank


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


def bank_header(path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """dtype and shape of the `.npy` file at `path`, read from its header alone (cheap for
    a bank of gigabytes). Raises ValueError saying what the file is instead."""
    path = Path(path)
    if path.is_dir():
        raise ValueError("it is a folder, not a .npy file")
    with open(path, "rb") as handle:
        start = handle.read(4)
        if start == b"PK\x03\x04":
            raise ValueError("it is an .npz archive: save the array itself with numpy.save(path, array)")
        handle.seek(0)
        try:
            version = np.lib.format.read_magic(handle)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(handle)
        except ValueError as error:
            raise ValueError(f"it is not a .npy file ({error})") from None
    return dtype, shape


def check_bank_file(path: Path, classes: int) -> tuple[int, ...]:
    """The shape of a fake-bank file in FITYMI's format, checked from its header: uint8,
    N×H×W×3, N > 0 a multiple of `classes` (class c is the c-th of `classes` equal slices).
    Raises UserError naming the file and what it holds."""
    try:
        dtype, shape = bank_header(path)
    except OSError as error:
        raise UserError(f"fake bank {path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise UserError(f"fake bank {path}: {error}") from None
    expected = f"expected uint8 N×H×W×3 with N > 0 a multiple of {classes} (class order)"
    if dtype.hasobject:
        raise UserError(f"fake bank {path}: it holds Python objects (a pickle), {expected}")
    if dtype != np.uint8 or len(shape) != 4 or shape[3] != 3 or not shape[0] or shape[0] % classes:
        raise UserError(f"fake bank {path}: {expected}, got {dtype} {shape}")
    return shape


def load_fake_bank(path: Path, classes: int) -> np.ndarray:
    """A fake bank file in FITYMI's format, checked (`check_bank_file`) and memory-mapped.
    Loaded with `allow_pickle=False`, so a file cannot run code."""
    check_bank_file(path, classes)
    return np.load(path, allow_pickle=False, mmap_mode="r")


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
