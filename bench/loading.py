"""Image sets on their way into a network: transformed, batched, run without gradients."""

from __future__ import annotations

import numpy as np

from bench.context import RunContext
from bench.images import ImageSet


class TransformedImages:
    """torch-Dataset view of an image set through a transform, with a label per image
    when `labels` is given (items are then (image, label) pairs)."""

    def __init__(self, images: ImageSet, transform, labels=None):
        self.images = images
        self.transform = transform
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        image = self.transform(self.images[index])
        return image if self.labels is None else (image, int(self.labels[index]))


def image_loader(
    images: ImageSet, transform, ctx: RunContext, *, batch_size: int, shuffle: bool = False,
    drop_last: bool = False, labels=None,
):
    """Batches of transformed images (with `labels`: (images, labels) batches); the order
    depends on the run's seed alone, and `ctx.loader_workers` processes prepare them.

    Loader processes start afresh at every pass over the images (no persistent workers):
    each pass seeds them from the loader's `generator`, whose state training checkpoints
    hold, so a resumed cell draws the same augmentations as an uninterrupted one."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(
        TransformedImages(images, transform, labels),
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last and len(images) > batch_size,
        generator=torch.Generator().manual_seed(ctx.seed),
        num_workers=ctx.loader_workers,
        pin_memory=ctx.device.startswith("cuda"),
    )


def run_network(model, transform, images: ImageSet, ctx: RunContext, *, batch_size: int, desc: str) -> np.ndarray:
    """`model` over `images` in batches, no gradients, as float32 rows (N×D)."""
    import torch

    loader = image_loader(images, transform, ctx, batch_size=batch_size)
    outputs = []
    with torch.no_grad():
        for batch in ctx.progress(loader, total=len(loader), desc=desc):
            outputs.append(model(batch.to(ctx.device)).float().cpu())
    return torch.cat(outputs).numpy()
