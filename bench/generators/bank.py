"""Fake banks: a generator's samples of one class, made once and cached on disk.

A bank is uint8 `N×H×W×3` (FITYMI's released layout). `fake_bank` trains the generator on
the class's images and samples it — or loads the bank a previous call made with the same
identity: the training images' content key (`bench.images`: another image changes it), the
generator's name and resolved hyper-parameters (their hash is in the file name), the seed and
stream, and N; the folder is named after the image set's name, for people to find. Beside each
`.npy` lie a PNG grid of real training images beside its first fakes for a person to look at
(captioned when it comes from a `smoke` profile), a grid of the real training images alone at
the bank's size (`.real.png`, for `bench report`) and a JSON file saying how it was made
(identity, profile, generator losses, seconds, the file's SHA-256 and, when asked for, its
fake-quality figures: `bench.generators.quality`). Parallel workers — or SLURM tasks on a
shared filesystem — asking for the same bank wait on a file lock instead of training twice.
The generator's training checkpoints under `<cache>/checkpoints/fakes/<bank>/` and resumes
from there after an interruption; the checkpoint is deleted once the bank is written.

The *stream* separates banks that must differ even under one seed: the near-distribution
benchmarks draw their test fakes from stream "benchmark", methods their training fakes from
stream "method", so a method never trains on the fakes it is tested on.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from bench.atomic import atomic_write, write_json
from bench.context import RunContext
from bench.digest import digest, file_digest
from bench.errors import UserError
from bench.images import ImageSet
from bench.notices import discarded

BANK_VERSION = 1
STREAMS = ("method", "benchmark")  # training fakes of methods; test fakes of near-distribution sets
SMOKE = "smoke"
SMOKE_CAPTION = "SMOKE PROFILE: a generator trained for seconds; these fakes show the code runs, not its quality"


@dataclass(frozen=True)
class BankRequest:
    """Which bank: `n` fakes from generator `name` with `params`, trained on `images`."""

    name: str
    params: Mapping[str, Any]
    n: int
    seed: int
    stream: str = "method"
    profile: str | None = None  # the profile `params` came from: reported, not part of the identity

    def __post_init__(self):
        if self.stream not in STREAMS:
            raise ValueError(f"stream must be one of {', '.join(STREAMS)}, got {self.stream!r}")

    @property
    def config_hash(self) -> str:
        """Hash of the generator and its resolved hyper-parameters."""
        return digest([self.name, dict(self.params)], 10)

    def following(self, images: ImageSet) -> "BankRequest":
        """This request with the generator's `image_size` resolved for `images` when it was
        left to follow the data (`bench.generators.base.follow_data`)."""
        from bench.generators.base import follow_data, native_size

        return replace(self, params=follow_data(dict(self.params), native_size(images)))

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
    """Train the generator on `images` and sample `request.n` fakes; (bank, what happened).
    The generator's training checkpoints in `ctx.checkpoint_dir` (None: not at all)."""
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


Quality = Callable[[np.ndarray], dict]  # bank → fake-quality figures (bench.generators.quality)


def fake_bank(
    images: ImageSet, request: BankRequest, ctx: RunContext, *, quality: Quality | None = None
) -> tuple[np.ndarray, Path | None]:
    """The bank for `request` on `images`: cached under the run's fake-bank cache when the image
    set has a key and caching is on, else made afresh. Returns the bank (uint8 N×H×W×3) and
    its file (None when not cached). With `quality`, its figures are added to the bank's JSON
    (once: a bank that has them is not measured again)."""
    request = request.following(images)
    folder = ctx.cache("fakes")
    if folder is None or images.key is None:
        return make_bank(images, request, replace(ctx, checkpoint_dir=None))[0], None
    path = request.path(folder, images)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_suffix(".lock")):
        bank = load_cached_bank(path, request.n) if path.exists() and path.with_suffix(".json").exists() else None
        if bank is None:
            checkpoints = Path(folder).parent / "checkpoints" / "fakes" / path.stem
            bank, report = make_bank(images, request, replace(ctx, checkpoint_dir=checkpoints))
            real = as_bank(images, bank.shape[1:3])
            write_grid(bank, path.with_suffix(".png"), real=real[:GRID_REAL],
                       caption=SMOKE_CAPTION if request.profile == SMOKE else None)
            write_grid(real, path.with_suffix(".real.png"), title="real training images")
            with atomic_write(path) as handle:
                np.save(handle, bank)
            write_json(path.with_suffix(".json"), {
                **request.identity(images), "profile": request.profile, "config_hash": request.config_hash,
                **report, "sha256": file_digest(path),
            })
            shutil.rmtree(checkpoints, ignore_errors=True)
        if quality is not None and "quality" not in bank_info(path):
            info = bank_info(path)
            write_json(path.with_suffix(".json"), {**info, "quality": quality(bank)})
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


def as_bank(images: ImageSet, size: tuple[int, int], limit: int = 256) -> np.ndarray:
    """The first `limit` images as a bank would hold them: uint8 N×H×W×3 at `size` (H, W)."""
    from PIL import Image

    pictures = (images[i].convert("RGB").resize(size[::-1], Image.BILINEAR) for i in range(min(limit, len(images))))
    return np.stack([np.asarray(picture, dtype=np.uint8) for picture in pictures])



def bank_info(path: Path) -> dict:
    """What the JSON beside a bank says ({} when there is none or it is unreadable)."""
    try:
        return json.loads(Path(path).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def provenance(path: Path | None, request: BankRequest) -> dict:
    """What a record says about the fakes a cell used: the bank's file (None when not
    cached), SHA-256, generator, config hash, stream, seed, size, profile and, when measured,
    its fake-quality figures."""
    info = bank_info(path) if path is not None else {}
    entry = {
        "path": str(path) if path is not None else None,
        "sha256": info.get("sha256"),
        "generator": request.name,
        "config_hash": request.config_hash,
        "params": dict(request.params),
        "stream": request.stream,
        "seed": request.seed,
        "n": request.n,
        "profile": request.profile,
    }
    if "quality" in info:
        entry["quality"] = info["quality"]
    return entry


GRID_REAL = 32  # real images shown beside the fakes


def write_grid(bank: np.ndarray, path: Path, columns: int = 16, limit: int = 256, *, real: np.ndarray | None = None,
               caption: str | None = None, title: str = "fakes") -> None:
    """A PNG for a person to judge the fakes: the first `limit` images of a bank tiled `columns`
    wide, 1 px apart; with `real` (uint8 M×H×W×3, the bank's size), real images in a block
    above them, split from the fakes by a black bar; with `caption`, a line of text on top
    (a smoke bank says so); without `real`, `title` names the images."""
    from PIL import Image, ImageDraw

    height, width = bank.shape[1:3]
    blocks = [_tile(bank[:limit], columns, height, width)]
    if real is not None and len(real):
        bar = np.zeros((3, blocks[0].shape[1], 3), np.uint8)
        blocks = [_tile(real, columns, height, width), bar, *blocks]
    grid = np.concatenate(blocks)
    scale = max(1, 1024 // grid.shape[1])  # 8×8 digits are unreadable at their own size
    picture = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    labels = [caption] if caption else []
    labels.append("top: real training images; below: fakes" if real is not None and len(real) else title)
    band = Image.new("RGB", (picture.width, 14 * len(labels) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    for row, text in enumerate(labels):
        draw.text((4, 2 + 14 * row), text, fill=(200, 0, 0) if text == caption else (0, 0, 0))
    page = Image.new("RGB", (picture.width, picture.height + band.height), (255, 255, 255))
    page.paste(band, (0, 0))
    page.paste(picture, (0, band.height))
    with atomic_write(path) as handle:
        page.save(handle, format="PNG")


def _tile(images: np.ndarray, columns: int, height: int, width: int) -> np.ndarray:
    rows = max(1, -(-len(images) // columns))
    grid = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, 3), 255, np.uint8)
    for index, image in enumerate(images):
        top, left = 1 + (index // columns) * (height + 1), 1 + (index % columns) * (width + 1)
        grid[top : top + height, left : left + width] = image
    return grid


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


def check_bank_file(path: Path, classes: int | None = None) -> tuple[int, ...]:
    """The shape of a fake-bank file in FITYMI's format, checked from its header: uint8,
    N×H×W×3, N > 0 and, when `classes` is given, a multiple of it (class c is the c-th of
    `classes` equal slices).
    Raises UserError naming the file and what it holds."""
    try:
        dtype, shape = bank_header(path)
    except OSError as error:
        raise UserError(f"fake bank {path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise UserError(f"fake bank {path}: {error}") from None
    expected = ("expected uint8 N×H×W×3 (FITYMI's fake-bank layout)" if classes is None
                else f"expected uint8 N×H×W×3 with N > 0 a multiple of {classes} (class order)")
    if dtype.hasobject:
        raise UserError(f"fake bank {path}: it holds Python objects (a pickle), {expected}")
    if dtype != np.uint8 or len(shape) != 4 or shape[3] != 3 or not shape[0] or (classes and shape[0] % classes):
        raise UserError(f"fake bank {path}: {expected}, got {dtype} {shape}")
    return shape


def load_fake_bank(path: Path, classes: int | None = None) -> np.ndarray:
    """A fake bank file in FITYMI's format, checked (`check_bank_file`) and memory-mapped.
    Loaded with `allow_pickle=False`, so a file cannot run code."""
    check_bank_file(path, classes)
    return np.load(path, allow_pickle=False, mmap_mode="r")


def class_slice(bank: np.ndarray, normal_class: int, per_class: int, path: Path | str = "the bank") -> np.ndarray:
    """Class `normal_class`'s fakes of a class-ordered bank, as FITYMI slices its released
    files (`datasets/datasets_train.py::get_gen_dataset`: `gen[N·c : N·(c+1)]`, N the number of
    normal images per class): an in-memory uint8 array of `per_class` images. UserError when
    the bank is too short for that class.

    >>> bank = np.arange(6, dtype=np.uint8).repeat(12).reshape(6, 2, 2, 3)
    >>> class_slice(bank, 2, 2)[:, 0, 0, 0].tolist()
    [4, 5]
    """
    end = (normal_class + 1) * per_class
    if len(bank) < end:
        raise UserError(
            f"{path} holds {len(bank)} fakes, but class {normal_class} takes images {normal_class * per_class}–{end - 1} "
            f"({per_class} per class, in class order)"
        )
    return np.ascontiguousarray(bank[normal_class * per_class : end])


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
