"""Transformaly (Cohen & Avidan, CVPR Workshops 2022): a pretrained ViT teacher, per-block
student clones, and two Gaussians.

Recipe (MatanCohen1/Transformaly `train.py`, `eval.py`, `utils.py`,
`pytorch_pretrained_vit/`), its one-vs-rest ("unimodal") setting:

- Teacher: ViT-B/16 at 384 px (577 tokens) with ImageNet weights — the reference loads
  lukemelas' `B_16_imagenet1k.pth`, a conversion of Google's ImageNet-21k → 1k ViT-B/16 at
  384; nearbench loads timm's `vit_base_patch16_384.orig_in21k_ft_in1k`, the same Google
  checkpoint by its name (the identity of the two files is not verified). Images:
  Resize((384, 384)) — a square, aspect ratio not kept — then Normalize(0.5, 0.5), no
  augmentation.
- Students: one clone of each of the 12 blocks, freshly initialised as the reference's
  `init_weights` does (Xavier-uniform weights, biases N(0, 1e-6), LayerNorms 1 and 0);
  student i takes the teacher's input to block i and regresses the teacher's output of
  block i. Only the students train; teacher and students run in train mode, so dropout 0.1 is
  on in both — on the attention probabilities, after the attention projection and after the
  MLP, the reference's three sites (timm's dropout after the MLP's activation is turned off).
- Loss: mean squared error over blocks, tokens and dimensions. Adam lr 1e-4, 30 epochs of
  batch 32 (its README's command; the code's default batch is 6).
- No checkpoint selection: the reference keeps the epoch with the lowest loss on the *normal
  test images* (test data), nearbench the last epoch.
- Score, higher = normal in the reference, negated here: the sum of two log-likelihoods under
  one-component Gaussian mixtures (scikit-learn) fitted on the training images —
  (1) the teacher's 768-d CLS feature after its final LayerNorm, PCA-whitened with as many
  components as the reference keeps: the index of the first component whose cumulative
  explained variance exceeds 0.9 (`whitening_threshold`), one fewer than reaching it;
  (2) each block's student error (mean squared over tokens and dimensions), for blocks 2–11
  (`skip_blocks` = 2).
- The reference extracts the pretrained features of normal class c with
  `manual_class_num_range=[c]`, i.e. `range(c)`: class c's own features are never extracted
  in that call (off by one). nearbench extracts each cell's train and test features itself.

The `smoke` profile: a 4-block, 64-wide random-init ViT on 16×16 images, 5 epochs at lr 1e-3.
Training checkpoints as every trained method's does (`bench.training`).
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import numpy as np

from bench.backbones import RANDOM, build_backbone
from bench.context import RunContext
from bench.detectors import BackboneDetector
from bench.errors import check_is_fitted
from bench.loading import image_loader
from bench.registry import register_method
from bench.seeding import seeded
from bench.tags import Tags
from bench.training import run_epochs
from bench.transforms import to_rgb

HALF = (0.5, 0.5, 0.5)

SMOKE = {
    "backbone": "timm:vit_tiny_patch16_224",
    "weights": RANDOM,
    "model_options": {"img_size": 16, "patch_size": 4, "embed_dim": 64, "depth": 4, "num_heads": 2},
    "image_size": 16,
    "epochs": 5,
    "batch_size": 16,
    "lr": 1e-3,
}
PAPER = {
    "backbone": "timm:vit_base_patch16_384.orig_in21k_ft_in1k",
    "weights": "pretrained",
    "model_options": None,
    "image_size": 384,
    "epochs": 30,
    "batch_size": 32,
    "lr": 1e-4,
}


def square_transform(image_size: int):
    """RGB → Resize((S, S)) (no crop, aspect not kept) → tensor → Normalize(0.5, 0.5)."""
    from torchvision import transforms as T

    return T.Compose([
        T.Lambda(to_rgb),
        T.Resize((image_size, image_size), interpolation=T.InterpolationMode.BILINEAR, antialias=True),
        T.ToTensor(),
        T.Normalize(HALF, HALF),
    ])


def fresh_student(block):
    """A clone of a transformer block, initialised as the reference's students are."""
    from torch import nn

    student = copy.deepcopy(block)
    for module in student.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=1e-6)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    for parameter in student.parameters():
        parameter.requires_grad = True
    return student


def teacher_and_students(teacher, students, images):
    """The teacher's output of each block and each student's output on the teacher's input to
    its block: two (blocks, B, tokens, dim) tensors, and the teacher's CLS feature after its
    final norm (B, dim). The teacher runs without gradients."""
    import torch

    with torch.no_grad():
        tokens = teacher.norm_pre(teacher.patch_drop(teacher._pos_embed(teacher.patch_embed(images))))
        inputs, outputs = [], []
        for block in teacher.blocks:
            inputs.append(tokens)
            tokens = block(tokens)
            outputs.append(tokens)
        cls = teacher.norm(tokens)[:, 0]
    predicted = torch.stack([student(x) for student, x in zip(students, inputs)])
    return torch.stack(outputs), predicted, cls


def whitening_components(features: np.ndarray, threshold: float) -> int:
    """How many principal components the reference keeps: the index of the first whose
    cumulative share of the variance exceeds `threshold` (one fewer than reaching it), at least 1."""
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(features.T)))[::-1]
    shares = np.cumsum(eigenvalues) / eigenvalues.sum()
    above = np.flatnonzero(shares > threshold)
    return max(int(above[0]) if len(above) else len(shares), 1)


@register_method("transformaly", groups=("fine-tuned", "teacher-student"))
class Transformaly(BackboneDetector):
    """Transformaly: per-block student clones of a pretrained ViT; Gaussians of its CLS
    features and of the students' errors."""

    tags = Tags(gpu_profiles=("paper",), min_image_size=16, untrained_params={"epochs": 0})
    profiles = {"smoke": dict(SMOKE), "paper": dict(PAPER)}

    def __init__(
        self,
        *,
        backbone: str = "timm:vit_base_patch16_384.orig_in21k_ft_in1k",
        weights: str = "pretrained",
        model_options: Mapping[str, Any] | None = None,
        image_size: int = 384,
        dropout: float = 0.1,
        epochs: int = 30,
        batch_size: int = 32,
        lr: float = 1e-4,
        whitening_threshold: float = 0.9,
        skip_blocks: int = 2,
    ):
        self.backbone = backbone
        self.weights = weights
        self.model_options = model_options
        self.image_size = image_size
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.whitening_threshold = whitening_threshold
        self.skip_blocks = skip_blocks

    def _teacher(self, ctx: RunContext):
        """The frozen teacher with the reference's dropout sites."""
        teacher = build_backbone(self.backbone, self.weights, seed=ctx.seed, attn_drop_rate=self.dropout,
                                 proj_drop_rate=self.dropout, **(self.model_options or {}))
        for block in teacher.blocks:
            block.mlp.drop1.p = 0.0  # the reference has no dropout after the MLP's activation
        for parameter in teacher.parameters():
            parameter.requires_grad = False
        return teacher.to(ctx.device)

    def fit(self, train, ctx) -> "Transformaly":
        import torch
        from torch import nn

        teacher = self._teacher(ctx)
        with seeded(ctx.seed):  # the students' init depends on the seed alone
            students = nn.ModuleList([fresh_student(block) for block in teacher.blocks]).to(ctx.device)
        optimizer = torch.optim.Adam(students.parameters(), lr=self.lr)
        loader = image_loader(train, square_transform(self.image_size), ctx, batch_size=self.batch_size, shuffle=True)
        teacher.train()  # dropout on in the teacher too, as in the reference
        students.train()

        def regression(images):
            target, predicted, _ = teacher_and_students(teacher, students, images.to(ctx.device))
            return ((predicted - target) ** 2).mean()

        self.loss_history_ = run_epochs(
            loader, regression, optimizer, self.epochs, ctx, model=students, name="transformaly",
            desc="Transformaly epochs",
        )
        self.teacher_, self.students_ = teacher.eval(), students.eval()
        cls, errors = self._features(train, ctx, "train features")
        self._fit_gaussians(cls, errors, ctx.seed)
        return self

    def _features(self, images, ctx, desc: str):
        """CLS features (N × dim) and the used blocks' student errors (N × blocks), eval mode."""
        import torch

        loader = image_loader(images, square_transform(self.image_size), ctx, batch_size=self.batch_size)
        cls_parts, error_parts = [], []
        with torch.no_grad():
            for batch in ctx.progress(loader, total=len(loader), desc=desc):
                target, predicted, cls = teacher_and_students(self.teacher_, self.students_, batch.to(ctx.device))
                error_parts.append(((predicted - target) ** 2).mean(dim=(2, 3)).T.double().cpu())
                cls_parts.append(cls.double().cpu())
        return torch.cat(cls_parts).numpy(), torch.cat(error_parts).numpy()[:, self.skip_blocks:]

    def _fit_gaussians(self, cls: np.ndarray, errors: np.ndarray, seed: int) -> None:
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        components = whitening_components(cls, self.whitening_threshold)
        self.whitening_ = PCA(n_components=components, svd_solver="full", whiten=True).fit(cls)
        self.cls_gaussian_ = GaussianMixture(n_components=1, max_iter=1000, n_init=1, random_state=seed).fit(
            self.whitening_.transform(cls))
        # the reference fits its second Gaussian on the negated errors; a Gaussian's likelihood
        # does not change under that reflection
        self.error_gaussian_ = GaussianMixture(n_components=1, max_iter=500, n_init=1, random_state=seed).fit(errors)

    def score(self, test, ctx) -> np.ndarray:
        check_is_fitted(self, "error_gaussian_")
        cls, errors = self._features(test, ctx, "test features")
        likelihood = self.cls_gaussian_.score_samples(self.whitening_.transform(cls))
        likelihood = likelihood + self.error_gaussian_.score_samples(errors)
        return -likelihood  # the reference's score is a log-likelihood, higher = normal
