"""Image sets: what datasets hand to detectors.

An image set is a sequence of PIL images. Its `key` is derived from its content, never from
a name: the SHA-256 of the pixels of an in-memory set, of the bytes of every file of a
file-backed one, with the order of the images. Caches keyed by it (backbone features, fake
banks) therefore can only return what belongs to exactly these images: a file replaced,
edited or reordered gives another key. Its `name` (`digits/train/c3`) is a label for people
and file names, never an identity. Small sets live in memory as uint8 arrays; large ones read
files on demand. Detectors never see labels: those stay in the `OneClassSplit`.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np
from PIL import Image

from bench.digest import content_digest, digest

_UNSET = object()
PARALLEL_FROM = 64  # files: below this a file set is hashed in the calling thread


def _ignore_given_key(key) -> None:
    """Keys used to be names given by datasets; a given one is ignored, with a warning."""
    if key is not _UNSET:
        warnings.warn(
            "image-set keys now come from the images' content: the key= argument is ignored "
            "(pass name= to label the set)",
            FutureWarning,
            stacklevel=3,
        )


class ImageSet(Sequence):
    """A sequence of PIL images with a content `key` and an optional `name`.

    Subclasses implement `__len__`, `__getitem__` and, where they can tell what they hold
    cheaply, `content_key()`; `files()` lists the files they read (for the conformance check
    that a changed file changes the key). A set whose `content_key()` is None is never cached.
    """

    name: str | None = None

    @property
    def key(self) -> str | None:
        """Hex SHA-256 identifying the images and their order, or None (computed on first use)."""
        if "_key" not in self.__dict__:
            self.__dict__["_key"] = self.content_key()
        return self.__dict__["_key"]

    @key.setter
    def key(self, value) -> None:
        _ignore_given_key(value)

    def content_key(self) -> str | None:
        """The content key; None for a set that cannot tell its content (not cached)."""
        return None

    def files(self) -> list[str]:
        """The files the images are read from, in order (empty for in-memory sets)."""
        return []

    def __getitem__(self, index: int) -> Image.Image:  # pragma: no cover - interface
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def subset(self, indices: Sequence[int], name: str | None = None, *, key=_UNSET) -> "ImageSet":
        """The images at `indices`, in that order."""
        _ignore_given_key(key)
        return SubsetImages(self, np.asarray(indices, dtype=np.int64), name)


class ArrayImages(ImageSet):
    """Images held as one uint8 array: N×H×W (grayscale) or N×H×W×3 (RGB).

    The set keeps a read-only view of `array`, so its key stays true to what it holds.
    """

    def __init__(self, array: np.ndarray, name: str | None = None, *, key=_UNSET):
        if array.dtype != np.uint8 or array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[3] != 3):
            raise ValueError(f"expected uint8 N×H×W or N×H×W×3, got {array.dtype} {array.shape}")
        _ignore_given_key(key)
        self.array = array.view()
        self.array.flags.writeable = False
        self.name = name

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int) -> Image.Image:
        return Image.fromarray(self.array[index])

    def content_key(self) -> str:
        hasher = hashlib.sha256(f"array {self.array.dtype} {self.array.shape}\n".encode())
        hasher.update(np.ascontiguousarray(self.array).data)
        return hasher.hexdigest()

    def subset(self, indices: Sequence[int], name: str | None = None, *, key=_UNSET) -> "ArrayImages":
        _ignore_given_key(key)
        return ArrayImages(self.array[np.asarray(indices, dtype=np.int64)], name)


class SubsetImages(ImageSet):
    """A view of some images of another set, in the given order."""

    def __init__(self, base: ImageSet, indices: np.ndarray, name: str | None = None):
        self.base = base
        self.indices = indices
        self.name = name

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Image.Image:
        return self.base[int(self.indices[index])]

    def content_key(self) -> str | None:
        if self.base.key is None:
            return None
        return digest(["subset", self.base.key, hashlib.sha256(np.ascontiguousarray(self.indices, np.int64)).hexdigest()])

    def files(self) -> list[str]:
        files = self.base.files()
        return [files[int(i)] for i in self.indices] if files else []


class ConcatImages(ImageSet):
    """Several image sets one after another."""

    def __init__(self, parts: Sequence[ImageSet], name: str | None = None, *, key=_UNSET):
        _ignore_given_key(key)
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])
        self.name = name

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int) -> Image.Image:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[part][index - int(self.offsets[part])]

    def content_key(self) -> str | None:
        keys = [part.key for part in self.parts]
        return None if None in keys else digest(["concat", keys])

    def files(self) -> list[str]:
        return [path for part in self.parts for path in part.files()]


class FileImages(ImageSet):
    """Images read from files on demand (large datasets are never loaded whole), as RGB.

    The key is made of the SHA-256 of each file's bytes (`bench.digest.content_digest`: read
    once per process while the file is unchanged), so it does not depend on where the data
    root is, only on what the files hold and their order. Computing it raises OSError for a
    file that cannot be read.
    """

    def __init__(self, paths, name: str | None = None, *, key=_UNSET):
        _ignore_given_key(key)
        self.paths = [str(p) for p in paths]
        self.name = name

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Image.Image:
        with Image.open(self.paths[index]) as image:
            return image.convert("RGB")

    def content_key(self) -> str:
        if len(self.paths) < PARALLEL_FROM:
            return digest(["files", [content_digest(path) for path in self.paths]])
        # hashlib releases the GIL on large buffers, and reads wait on the disk: threads help
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            return digest(["files", list(pool.map(content_digest, self.paths, chunksize=16))])

    def files(self) -> list[str]:
        return list(self.paths)

    def subset(self, indices: Sequence[int], name: str | None = None, *, key=_UNSET) -> "FileImages":
        _ignore_given_key(key)  # only the chosen files are hashed
        return FileImages([self.paths[int(i)] for i in indices], name)
