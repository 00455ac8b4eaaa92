"""The generator contract: learn one class of images, then make fakes of it.

A generator is scikit-learn-like, as detectors are: keyword hyper-parameters stored unchanged
in `__init__`, named `profiles` (`smoke`, `paper`), `fit(images, ctx)` on the normal
training images of one class, and `sample(n, ctx)` returning uint8 `n×H×W×3` fakes — the
layout of FITYMI's released fake files, whatever the channels it learned (grayscale is
repeated into three channels). Training reports its losses in `loss_history_`.

Images reach a generator as an image set; `training_tensor` resizes them to the generator's
`image_size`, keeps one channel when every image is grayscale, and scales pixels to [-1, 1]
(or [0, 1] for a model trained on uncentred data, as score_sde's VE models are).

Resolution follows the data: a generator whose `image_size` is None works at
`working_size(native, max_image_size)` — the dataset's side rounded up to a power of two
(the networks halve it level by level), at most `max_image_size` — so fakes of a 32-px set
are 32 px and those of a 1024-px set are `max_image_size` px, not thumbnails blown up.
`follow_data` fills `image_size` in where the dataset is known (the planner, `bench fakes`),
so records and `bench run --dry-run` show the resolution a cell works at.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from bench.context import RunContext
from bench.images import ImageSet
from bench.params import HasParams, validate_profiles

REQUIRED_PROFILES = ("smoke", "paper")


def working_size(native: int | None, cap: int) -> int:
    """The side a generator works at for images `native` px wide (None: sizes vary): the
    smallest power of two ≥ `native`, at most `cap`.

    >>> working_size(8, 128), working_size(28, 128), working_size(120, 128), working_size(1024, 128), working_size(None, 64)
    (8, 32, 128, 128, 64)
    """
    if native is None:
        return cap
    return min(cap, 1 << max(0, int(native) - 1).bit_length())


def native_size(images: ImageSet) -> int | None:
    """The longer side of the first image (None for an empty set)."""
    return max(images[0].size) if len(images) else None


def follow_data(params: dict[str, Any], native: int | None) -> dict[str, Any]:
    """`params` with `image_size` resolved for data `native` px wide (None: sizes vary), when
    it is None and the generator has a `max_image_size`; otherwise unchanged."""
    if params.get("image_size") is not None or "max_image_size" not in params:
        return dict(params)
    return {**params, "image_size": working_size(native, params["max_image_size"])}


def training_tensor(images: ImageSet, image_size: int, centered: bool = True):
    """The images as a float tensor N×C×S×S in [-1, 1] (`centered`) or [0, 1]; C = 1 when all
    are grayscale."""
    import torch
    from PIL import Image

    pictures = [images[i] for i in range(len(images))]  # each read once (files are decoded on access)
    grayscale = all(picture.mode == "L" for picture in pictures)
    mode = "L" if grayscale else "RGB"
    array = np.stack([
        np.asarray(picture.convert(mode).resize((image_size, image_size), Image.BILINEAR), dtype=np.uint8)
        for picture in pictures
    ])
    if grayscale:
        array = array[..., None]
    tensor = torch.from_numpy(array).permute(0, 3, 1, 2).float()
    return tensor.div(127.5).sub(1.0) if centered else tensor.div(255.0)


def to_uint8_rgb(samples, centered: bool = True) -> np.ndarray:
    """Samples N×C×H×W in [-1, 1] (`centered`) or [0, 1], clipped, as uint8 N×H×W×3."""
    if not centered:
        samples = samples * 2.0 - 1.0
    array = samples.detach().float().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to("cpu").numpy()
    array = array.astype(np.uint8).transpose(0, 2, 3, 1)
    return np.repeat(array, 3, axis=3) if array.shape[3] == 1 else array


def batches(n: int, batch_size: int):
    """Sizes of the batches that make `n` samples."""
    return [min(batch_size, n - start) for start in range(0, n, batch_size)]


class Generator(HasParams):
    """Base class of every fake generator; see the module docstring for the contract."""

    name: ClassVar[str]
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}

    def fit(self, images: ImageSet, ctx: RunContext) -> "Generator":
        raise NotImplementedError

    def sample(self, n: int, ctx: RunContext) -> np.ndarray:
        raise NotImplementedError

    def working_image_size(self, images: ImageSet) -> int:
        """`image_size`, or when it is None the working size for `images` (capped by
        `max_image_size`)."""
        size = getattr(self, "image_size", None)
        return size if size is not None else working_size(native_size(images), self.max_image_size)


def validate_generator_class(name: str, cls: type) -> None:
    """Registration-time checks: a Generator with smoke and paper profiles of real parameters."""
    validate_profiles("generator", Generator, name, cls, REQUIRED_PROFILES)
