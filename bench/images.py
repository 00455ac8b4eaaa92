"""Image sets: what datasets hand to detectors.

An image set is a sequence of PIL images with a `key`: a stable, content-derived identity
(`digits/split0/train/c3`) that caches can use, or None when there is none. Small sets live in
memory as uint8 arrays; large ones (issue: dataset adapters) read files on demand. Detectors
never see labels: those stay in the `OneClassSplit`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image


class ImageSet(Sequence):
    """A sequence of PIL images with a cache `key`."""

    key: str | None = None

    def __getitem__(self, index: int) -> Image.Image:  # pragma: no cover - interface
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def subset(self, indices: Sequence[int], key: str | None) -> "ImageSet":
        return SubsetImages(self, np.asarray(indices, dtype=np.int64), key)


class ArrayImages(ImageSet):
    """Images held as one uint8 array: N×H×W (grayscale) or N×H×W×3 (RGB)."""

    def __init__(self, array: np.ndarray, key: str | None = None):
        if array.dtype != np.uint8 or array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[3] != 3):
            raise ValueError(f"expected uint8 N×H×W or N×H×W×3, got {array.dtype} {array.shape}")
        self.array = array
        self.key = key

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int) -> Image.Image:
        return Image.fromarray(self.array[index])

    def subset(self, indices: Sequence[int], key: str | None) -> "ArrayImages":
        return ArrayImages(self.array[np.asarray(indices, dtype=np.int64)], key)


class SubsetImages(ImageSet):
    """A view of some images of another set, in the given order."""

    def __init__(self, base: ImageSet, indices: np.ndarray, key: str | None):
        self.base = base
        self.indices = indices
        self.key = key

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Image.Image:
        return self.base[int(self.indices[index])]


class ConcatImages(ImageSet):
    """Several image sets one after another."""

    def __init__(self, parts: Sequence[ImageSet], key: str | None):
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])
        self.key = key

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int) -> Image.Image:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[part][index - int(self.offsets[part])]


class FileImages(ImageSet):
    """Images read from files on demand (large datasets are never loaded whole), as RGB."""

    def __init__(self, paths, key: str | None = None):
        self.paths = [str(p) for p in paths]
        self.key = key

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Image.Image:
        with Image.open(self.paths[index]) as image:
            return image.convert("RGB")
