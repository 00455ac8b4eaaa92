"""PatchCore (Roth et al., CVPR 2022) through anomalib's module, with a memory budget.

Recipe (anomalib `models/image/patchcore/`, its README's 0.980 on MVTec): timm/torchvision
wide ResNet-50-2 with ImageNet weights, `layer2` and `layer3` features, each 3×3 average
pooled, `layer3` bilinearly upsampled to the `layer2` grid and concatenated — at 256 px a
32 × 32 grid of 1,536-d patch vectors per image; the memory bank is reduced by k-centre-greedy
coreset selection to 10% (distances after a sparse random projection, ε 0.9); a test image
scores its largest patch distance to the bank, re-weighted by its nearest bank vector's 9
neighbours (`num_neighbors`). Fitting and scoring run through the module's own
`training_step`, coreset (`PatchcoreModel.subsample_embedding`) and `validation_step`.

**Memory.** anomalib keeps every patch vector of every training image before the coreset:
1,024 × 1,536 floats = 6 MiB per image at 256 px, 29.3 GiB for a 5,000-image CIFAR-10 class,
and about twice that at its peak (the stored batches and their stacked copy, then the random
projection). `memory_budget_gib` (default 8) bounds it: the training images are taken in
chunks — as many images as keep the chunk's vectors, their stacked copy and their projection,
plus the coresets already kept, within the budget — each chunk is reduced to its own 10%
coreset as soon as it is complete, and the memory bank is the union of the chunks' coresets
(as large as one coreset of everything, `coreset_sampling_ratio` of all patch vectors). The
coreset of each chunk covers that chunk's vectors, so the union covers every training vector
within the largest of the chunks' covering radii; it is not the coreset the greedy selection
would pick from all vectors at once, and scores differ slightly (`benchmarks/patchcore_memory.py`
measures how much, and the peak memory). When one chunk holds the whole class (MVTec's
largest, 391 images, needs about 5 GiB) nothing changes: it is anomalib's path exactly.
`memory_budget_gib=None` always takes anomalib's path. The planner states the estimate for
each dataset (its `max_train_images`) and fails when even the final bank does not fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.backbones import resnet_feature_maps
from bench.context import no_progress
from bench.registry import register_method
from bench.methods.anomalib_models import PAPER, SMOKE, AnomalibDetector, quiet_unless

GIB = 2**30
FLOAT_BYTES = 4
PROJECTION_EPS = 0.9  # anomalib's KCenterGreedy: SparseRandomProjection(eps=0.9)


def projected_dim(vectors: int, eps: float = PROJECTION_EPS) -> int:
    """Dimension of the coreset's random projection for `vectors` vectors: the
    Johnson–Lindenstrauss bound 4·ln(n) / (ε²/2 − ε³/3) that anomalib's projection uses."""
    return int(4 * math.log(max(vectors, 2)) / (eps**2 / 2 - eps**3 / 3))


@dataclass(frozen=True)
class BankGeometry:
    """The patch vectors one image adds to the memory bank: `patches` vectors of `dim` floats."""

    patches: int
    dim: int

    @classmethod
    def of(cls, backbone: str, layers, image_size: int) -> "BankGeometry | None":
        """From the backbone's feature maps (the grid of the first layer; channels summed);
        None when the backbone's geometry is not known without building it."""
        maps = resnet_feature_maps(backbone, layers, image_size)
        if maps is None:
            return None
        return cls(patches=maps[0][1] ** 2, dim=sum(channels for channels, _ in maps))

    def bank_bytes(self, images: int) -> int:
        """Every patch vector of `images` images, before the coreset."""
        return images * self.patches * self.dim * FLOAT_BYTES

    def chunk_peak_bytes(self, images: int) -> int:
        """At most what one coreset pass over `images` images holds: their vectors twice (the
        stored batches while they are stacked) and their projection twice (the projected
        vectors and one distance computation's difference)."""
        vectors = images * self.patches
        return 2 * vectors * self.dim * FLOAT_BYTES + 2 * vectors * projected_dim(vectors) * FLOAT_BYTES


@dataclass(frozen=True)
class CoresetPlan:
    """How a class of `images` training images is reduced: in `chunks` passes of up to
    `chunk_images` images, at an estimated peak of `peak_bytes` (patch memory only)."""

    images: int
    chunk_images: int
    chunks: int
    bank_bytes: int
    coreset_bytes: int
    peak_bytes: int

    def describe(self, geometry: BankGeometry) -> str:
        how = ("one coreset pass over all of them (anomalib's path)" if self.chunks == 1 else
               f"coresets of {self.chunks} chunks of up to {self.chunk_images:,} images, their union the bank")
        return (f"memory bank of {self.images:,} images × {geometry.patches:,} patches × {geometry.dim:,} floats = "
                f"{self.bank_bytes / GIB:.1f} GiB before the coreset; {how}, peak ≈ {self.peak_bytes / GIB:.1f} GiB")


def coreset_plan(geometry: BankGeometry, images: int, ratio: float, budget_gib: float | None,
                 batch_size: int = 1) -> CoresetPlan:
    """The largest chunk (whole batches of `batch_size`) whose pass, with the coresets of the
    chunks before, stays within `budget_gib` (None: one pass, whatever it needs). ValueError,
    naming the fix, when not even one batch fits."""
    coreset = int(ratio * images * geometry.patches) * geometry.dim * FLOAT_BYTES
    chunk = images
    if budget_gib is not None and coreset + geometry.chunk_peak_bytes(images) > budget_gib * GIB:
        budget = budget_gib * GIB
        low, high = 0, images  # the largest chunk within the budget (the peak grows with the chunk)
        while low < high:
            middle = (low + high + 1) // 2
            if coreset + geometry.chunk_peak_bytes(middle) <= budget:
                low = middle
            else:
                high = middle - 1
        chunk = low // batch_size * batch_size
        if chunk == 0:
            raise ValueError(
                f"memory_budget_gib={budget_gib} cannot hold the final memory bank of {images:,} images "
                f"({coreset / GIB:.2f} GiB at coreset_sampling_ratio={ratio}) and the patches of one batch of "
                f"{batch_size}: raise memory_budget_gib, or lower coreset_sampling_ratio or batch_size"
            )
    chunks = -(-images // chunk)
    peak = geometry.chunk_peak_bytes(chunk) + (coreset if chunks > 1 else 0)
    return CoresetPlan(images, chunk, chunks, geometry.bank_bytes(images), coreset, peak)


@register_method("patchcore", groups=("anomalib", "memory-bank"))
class PatchCore(AnomalibDetector):
    """anomalib PatchCore: coreset memory of layer2+3 patch features, max patch NN distance."""

    module_class = "anomalib.models.Patchcore"
    profiles = {
        "smoke": dict(SMOKE),
        "paper": dict(PAPER),
    }

    def __init__(
        self,
        *,
        backbone: str = "wide_resnet50_2",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 256,
        resize: int | None = 256,
        batch_size: int = 32,
        layers: tuple = ("layer2", "layer3"),
        coreset_sampling_ratio: float = 0.1,
        num_neighbors: int = 9,
        memory_budget_gib: float | None = 8.0,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.batch_size = batch_size
        self.layers = layers
        self.coreset_sampling_ratio = coreset_sampling_ratio
        self.num_neighbors = num_neighbors
        self.memory_budget_gib = memory_budget_gib

    def module_arguments(self) -> dict[str, Any]:
        return {
            "layers": tuple(self.layers),
            "coreset_sampling_ratio": self.coreset_sampling_ratio,
            "num_neighbors": self.num_neighbors,
        }

    @classmethod
    def check_resources(cls, params, max_train_images: int | None) -> str | None:
        """The memory bank's size and the coreset plan for a class of `max_train_images`
        images; a notice only when the bank does not fit in one pass (or has no budget)."""
        geometry = BankGeometry.of(params["backbone"], params["layers"], params["image_size"])
        if geometry is None or max_train_images is None:
            return None
        plan = coreset_plan(geometry, max_train_images, params["coreset_sampling_ratio"], params["memory_budget_gib"],
                            params["batch_size"])
        if plan.chunks == 1 and (params["memory_budget_gib"] is not None or plan.peak_bytes < 8 * GIB):
            return None
        return plan.describe(geometry) + (
            "; memory_budget_gib=None keeps every vector" if params["memory_budget_gib"] is None else "")

    def chunk_images(self, images: int, geometry: BankGeometry | None) -> int:
        """Images per coreset pass for a class of `images` images (all of them without a
        budget, or when the geometry is unknown)."""
        if self.memory_budget_gib is None or geometry is None:
            return images
        return coreset_plan(geometry, images, self.coreset_sampling_ratio, self.memory_budget_gib,
                            self.batch_size).chunk_images

    def fit(self, train, ctx) -> "PatchCore":
        import torch

        module = self._build(ctx)
        module.train()
        model = module.model
        chunk = self.chunk_images(len(train), BankGeometry.of(self.backbone, self.layers, self.image_size))
        kept, stored = [], 0

        def reduce():  # anomalib's coreset selection over the stored chunk
            with quiet_unless(ctx.progress is not no_progress):
                model.subsample_embedding(self.coreset_sampling_ratio)
            kept.append(model.memory_bank)

        with torch.no_grad():
            for batch in ctx.progress(self._batches(train, ctx, shuffle=False), desc="memory bank"):
                if stored and stored + len(batch.image) > chunk:
                    reduce()
                    stored = 0
                module.training_step(batch)
                stored += len(batch.image)
            reduce()
        model.memory_bank = kept[0] if len(kept) == 1 else torch.vstack(kept)
        self.coreset_chunks_ = len(kept)
        self.module_ = module.eval()
        return self
