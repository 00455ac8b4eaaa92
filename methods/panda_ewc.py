"""PANDA-EWC (Reiss et al., CVPR 2021): PANDA's compactness fine-tuning held near the
pretrained weights by elastic weight consolidation.

Recipe (talreiss/PANDA `panda.py --ewc`, `losses.py::EWCLoss`): PANDA (see `methods/panda.py`)
with, at every step, the penalty λ/2 · Σ_j F_j (θ_j − θ*_j)² added to the compactness loss —
θ* the pretrained weights, F the diagonal Fisher information of the pretrained ImageNet
classifier, λ = 1e4 (`ewc_lambda`) — and 50 epochs instead of 15 (the gradient clipping at
1e-3 covers the penalty's gradient too). Only `layer3` and `layer4` move, so only their
Fisher entries matter; the classifier head is not part of the penalty.

Where F comes from (`fisher_source`):

- `file` (the `paper` profile): the authors' `fisher_diagonal.pth` for ResNet-152 (linked from
  talreiss/PANDA's README; Google Drive, so only you can download it), at `fisher_path`
  (default `panda/fisher_diagonal.pth` under the data root): a dict of parameter name →
  tensor, loaded with `torch.load(weights_only=True)` and checked against the network;
- `folder`: computed by nearbench on the image folder `fisher_images` (ImageNet's training
  set for the ImageNet weights: one subfolder per class, sorted as the classifier's classes),
  as the authors describe in talreiss/PANDA#3: the pretrained classifier in eval mode,
  cross-entropy with the folder's labels, every trainable parameter's squared gradient of
  each batch of 32 summed over `fisher_samples` images (a seeded sample, seed 0) and averaged
  over the batches (the average is nearbench's reading: the code in PANDA#3 stops before
  the normalisation). The result is cached under `<cache>/fisher/`;
- `train` (the `smoke` profile): the same computation on the cell's own normal training
  images, labelled by the classifier's own predictions — not a recipe, it only lets the
  smoke profile run the EWC code without a download (with λ = 10: see `profiles`).

The penalty is zero at θ* whatever F (tested), so EWC changes nothing until the weights move.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from bench.atomic import atomic_write
from bench.backbones import build_classifier
from bench.context import RunContext
from bench.digest import digest
from bench.errors import UserError
from bench.imagefolder import LAYOUT, has_images, read_image_folder, resolve
from bench.loading import image_loader
from bench.methods.panda import PANDA
from bench.registry import register_method
from bench.requirements import Requirement

FISHER_SOURCES = ("file", "folder", "train")
FISHER_FILE = "panda/fisher_diagonal.pth"
FISHER_BATCH = 32  # the authors' batch size (PANDA#3's estimate_fisher)
PANDA_README = "https://github.com/talreiss/PANDA#data-preparation"


def ewc_penalty(parameters: Mapping[str, Any], anchor: Mapping[str, Any], fisher: Mapping[str, Any], strength: float):
    """λ/2 · Σ F (θ − θ*)² over the named parameters (a scalar tensor): `parameters` the current
    ones, `anchor` their pretrained values θ*, `fisher` F, `strength` λ."""
    total = 0.0
    for name, parameter in parameters.items():
        total = total + (fisher[name] * (parameter - anchor[name]) ** 2).sum() / 2
    return strength * total


def fisher_diagonal(classifier, images, labels, names, transform, ctx: RunContext, *, batch_size: int = FISHER_BATCH):
    """The diagonal empirical Fisher of `classifier` (eval mode) for the parameters `names`:
    the squared gradient of each batch's mean cross-entropy (labels: int array, or None for the
    classifier's own predictions), averaged over batches; name → float32 tensor on the CPU."""
    import torch
    import torch.nn.functional as F

    classifier = classifier.to(ctx.device).eval()
    wanted = {name: p for name, p in classifier.named_parameters() if name in names}
    for name, parameter in classifier.named_parameters():
        parameter.requires_grad = name in wanted
    totals = {name: torch.zeros_like(p) for name, p in wanted.items()}
    targets = None if labels is None else np.asarray(labels, dtype=np.int64)
    loader = image_loader(images, transform, ctx, batch_size=batch_size,
                          labels=targets if targets is not None else np.zeros(len(images), np.int64))
    batches = 0
    for inputs, batch_labels in ctx.progress(loader, total=len(loader), desc="Fisher"):
        logits = classifier(inputs.to(ctx.device))
        target = logits.argmax(dim=1) if targets is None else batch_labels.to(ctx.device)
        classifier.zero_grad(set_to_none=True)
        F.cross_entropy(logits, target).backward()
        for name, parameter in wanted.items():
            totals[name] += parameter.grad.detach() ** 2
        batches += 1
    return {name: (total / max(batches, 1)).float().cpu() for name, total in totals.items()}


def load_fisher(path: Path, shapes: Mapping[str, tuple]) -> dict:
    """The Fisher entries of the parameters `shapes` (name → shape) from a saved dict of
    tensors; a UserError naming the file when it is unreadable or does not fit."""
    import torch

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: one line, not a traceback
        raise UserError(f"Fisher file {path} cannot be read ({type(error).__name__}): download it again") from None
    if not isinstance(saved, dict):
        raise UserError(f"Fisher file {path} holds a {type(saved).__name__}, not a dict of parameter name → tensor")
    missing = [name for name in shapes if name not in saved]
    wrong = [name for name in shapes if name in saved and tuple(saved[name].shape) != tuple(shapes[name])]
    if missing or wrong:
        raise UserError(
            f"Fisher file {path} does not fit the network: missing {missing[:3]}, wrong shape {wrong[:3]} — "
            "is it the Fisher of another backbone? (the authors' file is ResNet-152's)"
        )
    return {name: saved[name].float() for name in shapes}


@register_method("panda-ewc", groups=("knn", "fine-tuned"))
class PANDAEWC(PANDA):
    """PANDA with elastic weight consolidation towards the pretrained weights (diagonal Fisher)."""

    profiles = {
        # λ 1e4 against a random network's Fisher overwhelms the compactness loss at the smoke
        # learning rate (the loss rises); at 10 the penalty is of the loss's order and it falls
        "smoke": {**PANDA.profiles["smoke"], "fisher_source": "train", "ewc_lambda": 10.0},
        "paper": {**PANDA.profiles["paper"], "epochs": 50, "fisher_source": "file", "fisher_path": FISHER_FILE},
    }

    def __init__(
        self,
        *,
        backbone: str = "resnet152",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 224,
        resize: int | None = 256,
        epochs: int = 50,
        batch_size: int = 32,
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 5e-5,
        clip_norm: float = 1e-3,
        trainable_layers: tuple = ("layer3", "layer4"),
        k: int = 2,
        ewc_lambda: float = 1e4,
        fisher_source: str = "file",
        fisher_path: str | None = FISHER_FILE,
        fisher_images: str | None = None,
        fisher_samples: int = 10000,
    ):
        super().__init__(
            backbone=backbone, weights=weights, image_size=image_size, resize=resize, epochs=epochs,
            batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay, clip_norm=clip_norm,
            trainable_layers=trainable_layers, k=k,
        )
        self.ewc_lambda = ewc_lambda
        self.fisher_source = fisher_source
        self.fisher_path = fisher_path
        self.fisher_images = fisher_images
        self.fisher_samples = fisher_samples

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        source = params["fisher_source"]
        if source not in FISHER_SOURCES:
            raise ValueError(f"fisher_source must be one of {', '.join(FISHER_SOURCES)}, not {source!r}")
        needed = {"file": "fisher_path", "folder": "fisher_images"}.get(source)
        if needed and not params[needed]:
            raise ValueError(f"fisher_source={source} needs {needed}: --set panda-ewc.{needed}=PATH")

    @classmethod
    def inputs(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        if params["fisher_source"] == "file" and params["fisher_path"]:
            return [Requirement(
                what="PANDA's diagonal Fisher (fisher_diagonal.pth, a dict of parameter name → tensor)",
                path=resolve(params["fisher_path"], ctx.data_root),
                how_to_get=(f"download it from the link in talreiss/PANDA's README ({PANDA_README}) into "
                            f"<data root>/{Path(FISHER_FILE).parent}/, or compute one: --set panda-ewc.fisher_source=folder "
                            "--set panda-ewc.fisher_images=<ImageNet train folder>"),
                param="fisher_path",
            )]
        if params["fisher_source"] == "folder" and params["fisher_images"]:
            return [Requirement(
                what="an image folder to compute the Fisher on (the classifier's pretraining classes)",
                path=resolve(params["fisher_images"], ctx.data_root),
                how_to_get="point fisher_images at ImageNet's train/ folder",
                param="fisher_images", layout=LAYOUT, usable=has_images,
            )]
        return []

    def penalty(self, model, train, ctx):
        """The EWC penalty of `model`'s trainable parameters against their values now (θ*)."""
        trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
        anchor = {name: p.detach().clone() for name, p in trainable.items()}
        fisher = {name: f.to(ctx.device) for name, f in self.fisher(trainable, train, ctx).items()}
        self.fisher_ = fisher
        return lambda: ewc_penalty(trainable, anchor, fisher, self.ewc_lambda)

    def fisher(self, trainable: Mapping[str, Any], train, ctx: RunContext) -> dict:
        """F for the `trainable` parameters, from the source the parameters name."""
        self.check_params(self.get_params(), ctx.profile)
        shapes = {name: tuple(p.shape) for name, p in trainable.items()}
        if self.fisher_source == "file":
            return load_fisher(resolve(self.fisher_path, ctx.data_root), shapes)
        transform = self.feature_spec().transform()
        classifier = build_classifier(self.backbone, self.weights, seed=ctx.seed)
        if self.fisher_source == "train":  # smoke: the cell's images, the classifier's own labels
            return fisher_diagonal(classifier, train, None, shapes, transform, ctx)
        return self._cached_folder_fisher(classifier, shapes, transform, ctx)

    def _cached_folder_fisher(self, classifier, shapes, transform, ctx: RunContext) -> dict:
        import torch

        folder = read_image_folder(resolve(self.fisher_images, ctx.data_root), "panda-ewc fisher_images")
        outputs = classifier.fc.out_features
        if len(folder.classes) != outputs:
            raise UserError(
                f"panda-ewc fisher_images: {len(folder.classes)} class folders, but the classifier has {outputs} "
                "classes: point it at the classifier's pretraining set (ImageNet's train/ folder, 1,000 classes)"
            )
        cache = ctx.cache("fisher")
        identity = {"backbone": self.backbone, "weights": self.weights, "images": folder.images.key,
                    "samples": self.fisher_samples, "transform": [self.image_size, self.resize], "batch": FISHER_BATCH}
        path = None if cache is None else cache / f"{digest(identity, 24)}.pt"
        if path is not None and path.exists():
            try:
                return load_fisher(path, shapes)
            except UserError:
                pass  # a damaged cache entry is recomputed and replaced
        chosen = np.sort(np.random.default_rng(0).permutation(len(folder.labels))[: self.fisher_samples])
        fisher = fisher_diagonal(classifier, folder.images.subset(chosen), folder.labels[chosen],
                                 shapes, transform, ctx)
        if path is not None:
            with atomic_write(path) as handle:
                torch.save(fisher, handle)
        return fisher
