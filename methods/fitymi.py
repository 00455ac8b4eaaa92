"""FITYMI — "Fake It Till You Make It" (Mirzaei et al., ICLR 2023), and its GAN-fake baselines.

Recipe (rohban-lab/FITYMI `main.py`, `train.py`, `eval.py`; the generation code was never
released, see `bench.generators`):

1. fakes of the normal class from a generator trained on the normal training images alone,
   as many as there are normal images (1:1);
2. fine-tune a pretrained ViT-B/16 to tell normal (0) from fake (1): a new, randomly
   initialised 2-way head on the 768-d CLS feature after the final LayerNorm; blocks 0–5
   frozen, everything else trains (blocks 6–11, final norm, head, and the patch and position
   embeddings and CLS token); dropout 0.1 (`model.train()` while training); SGD lr 4e-4,
   weight decay 5e-5, no momentum, schedule or clipping; 30 epochs of batch 16; Resize(256)
   → RandomCrop(224) → horizontal flip → ImageNet normalisation, for normal and fake images;
3. score: Σ squared L2 distances to the 2 nearest CLS features of the normal training
   images, all taken with the eval transform (the classifier's logit is not used).

Weights: timm's `vit_base_patch16_224.orig_in21k` (Google's ImageNet-21k ViT-B/16 at 224;
which of Google's files FITYMI loaded is not stated).

Methods: `fitymi` (score-based diffusion fakes), `fitymi-dcgan` and `fitymi-wgan-gp` (the
same fine-tuning fed with DCGAN or WGAN-GP fakes; `fitymi-wgan` is a deprecated alias) —
fakes from a registered generator (`generator`, default the method's own; `generator_profile`,
default the cell's profile; `generator_params` overrides), cached as fake banks so methods and
seeds that need the same bank share it — and `fitymi-bank`, fakes from a class-ordered file
such as FITYMI's released `cifar10_training_gen_data.npy` (`bank_path`, relative to the data
root or absolute; `bank_classes` slices of equal size). The `smoke` profile: a 4-block,
64-wide random-init ViT on 16×16 images, 2 blocks frozen, 8×8 generators trained for 25–100
steps, 6 epochs with momentum — seconds on a CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from bench.backbones import RANDOM, build_backbone, weights_requirement
from bench.context import RunContext
from bench.detectors import TrainedFeatureKNN
from bench.generators.bank import BankRequest, class_slice, fake_bank, load_fake_bank
from bench.images import ArrayImages, ConcatImages, ImageSet
from bench.loading import image_loader
from bench.registry import register_method
from bench.requirements import Requirement
from bench.seeding import seeded
from bench.tags import Tags
from bench.training import run_epochs
from bench.transforms import train_transform

SMOKE_VIT = {
    "backbone": "timm:vit_tiny_patch16_224",
    "weights": RANDOM,
    "model_options": {"img_size": 16, "patch_size": 4, "embed_dim": 64, "depth": 4, "num_heads": 2},
    "dropout": 0.0,
    "image_size": 16,
    "resize": 18,
    "frozen_blocks": 2,
    "epochs": 6,
    "batch_size": 16,
    "lr": 1e-2,
    "momentum": 0.9,
}
PAPER_VIT = {
    "backbone": "timm:vit_base_patch16_224.orig_in21k",
    "weights": "pretrained",
    "model_options": None,
    "dropout": 0.1,
    "image_size": 224,
    "resize": 256,
    "frozen_blocks": 6,
    "epochs": 30,
    "batch_size": 16,
    "lr": 4e-4,
    "momentum": 0.0,
}

HIGH_RES = {"lr": 5e-3, "epochs": 150}  # FITYMI's README, for high-resolution sets (MVTec, Cars, ...)


def freeze_blocks(model, frozen_blocks: int) -> list:
    """Freeze transformer blocks 0 … frozen_blocks−1 (FITYMI's `freeze_model`); everything
    else trains, embeddings included. Returns the trainable parameters."""
    if frozen_blocks > len(model.blocks):
        raise ValueError(f"frozen_blocks={frozen_blocks} but the model has {len(model.blocks)} blocks")
    frozen = tuple(f"blocks.{index}." for index in range(frozen_blocks))
    trainable = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad = not name.startswith(frozen)
        if parameter.requires_grad:
            trainable.append(parameter)
    return trainable


class FakeTrainedViT(TrainedFeatureKNN):
    """FITYMI's fine-tuning and scoring, whatever the fakes: subclasses say where the fakes
    of the normal class come from (`training_fakes`)."""

    tags = Tags(gpu_profiles=("paper",), min_image_size=16)

    def __init__(
        self,
        *,
        backbone: str = "timm:vit_base_patch16_224.orig_in21k",
        weights: str = "pretrained",
        model_options: Mapping[str, Any] | None = None,
        dropout: float = 0.1,
        image_size: int = 224,
        resize: int | None = 256,
        frozen_blocks: int = 6,
        epochs: int = 30,
        batch_size: int = 16,
        lr: float = 4e-4,
        momentum: float = 0.0,
        weight_decay: float = 5e-5,
        fake_ratio: float = 1.0,
        k: int = 2,
    ):
        self.backbone = backbone
        self.weights = weights
        self.model_options = model_options
        self.dropout = dropout
        self.image_size = image_size
        self.resize = resize
        self.frozen_blocks = frozen_blocks
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.fake_ratio = fake_ratio
        self.k = k

    def training_fakes(self, train: ImageSet, ctx: RunContext) -> np.ndarray:
        """uint8 N×H×W×3 fakes of the normal class, `fake_ratio` per normal training image."""
        raise NotImplementedError

    def n_fakes(self, train: ImageSet) -> int:
        return int(round(self.fake_ratio * len(train)))

    def fit(self, train: ImageSet, ctx: RunContext) -> "FakeTrainedViT":
        import torch

        fakes = self.training_fakes(train, ctx)
        with seeded(ctx.seed, ctx.device):
            vit = build_backbone(self.backbone, self.weights, seed=ctx.seed, drop_rate=self.dropout, **(self.model_options or {}))
            head = torch.nn.Linear(vit.num_features, 2)  # random, as FITYMI's (its zero init was removed)
        trainable = freeze_blocks(vit, self.frozen_blocks) + list(head.parameters())
        classifier = torch.nn.Sequential(vit, head).to(ctx.device).train()  # dropout on
        optimizer = torch.optim.SGD(trainable, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        images = ConcatImages([train, ArrayImages(fakes)])
        labels = np.r_[np.zeros(len(train), np.int64), np.ones(len(fakes), np.int64)]
        loader = image_loader(
            images, train_transform(self.image_size, self.resize), ctx,
            batch_size=self.batch_size, shuffle=True, labels=labels,
        )
        loss = torch.nn.CrossEntropyLoss()

        def normal_vs_fake(batch):
            inputs, targets = batch
            return loss(classifier(inputs.to(ctx.device)), targets.to(ctx.device))

        self.loss_history_ = run_epochs(
            loader, normal_vs_fake, optimizer, self.epochs, ctx, model=classifier, name="fitymi", desc="FITYMI epochs",
        )
        self.network_ = vit.eval()
        self.memorise(train, ctx)
        return self


@register_method("fitymi", groups=("knn", "fine-tuned", "fakes"))
class FITYMI(FakeTrainedViT):
    """FITYMI: fine-tune a ViT on normal vs score-based diffusion fakes, then 2-NN on CLS features."""

    default_generator: ClassVar[str] = "diffusion"
    profiles = {"smoke": dict(SMOKE_VIT), "paper": dict(PAPER_VIT), "paper+high-res": dict(HIGH_RES)}

    def __init__(
        self,
        *,
        backbone: str = "timm:vit_base_patch16_224.orig_in21k",
        weights: str = "pretrained",
        model_options: Mapping[str, Any] | None = None,
        dropout: float = 0.1,
        image_size: int = 224,
        resize: int | None = 256,
        frozen_blocks: int = 6,
        epochs: int = 30,
        batch_size: int = 16,
        lr: float = 4e-4,
        momentum: float = 0.0,
        weight_decay: float = 5e-5,
        fake_ratio: float = 1.0,
        k: int = 2,
        generator: str | None = None,
        generator_profile: str | None = None,
        generator_params: Mapping[str, Any] | None = None,
    ):
        super().__init__(
            backbone=backbone, weights=weights, model_options=model_options, dropout=dropout, image_size=image_size,
            resize=resize, frozen_blocks=frozen_blocks, epochs=epochs, batch_size=batch_size, lr=lr,
            momentum=momentum, weight_decay=weight_decay, fake_ratio=fake_ratio, k=k,
        )
        self.generator = generator
        self.generator_profile = generator_profile
        self.generator_params = generator_params

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        return weights_requirement(params["backbone"], params["weights"])

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        """The generator, its profile and its overrides must resolve (a typo fails the plan)."""
        from bench.generators import generator_params

        generator_params(params["generator"] or cls.default_generator, params["generator_profile"] or profile,
                         params["generator_params"])

    @classmethod
    def generators_used(cls, params: Mapping[str, Any]) -> tuple:
        from bench.generators import generators

        return (generators.get(params["generator"] or cls.default_generator),)

    def training_fakes(self, train: ImageSet, ctx: RunContext) -> np.ndarray:
        from bench.generators import generator_params

        name = self.generator or self.default_generator
        params = generator_params(name, self.generator_profile or ctx.profile, self.generator_params)
        return fake_bank(train, BankRequest(name, params, self.n_fakes(train), ctx.seed), ctx)[0]


@register_method("fitymi-dcgan", groups=("knn", "fine-tuned", "fakes"))
class FITYMIDCGAN(FITYMI):
    """FITYMI's fine-tuning fed with DCGAN fakes of the normal class (GAN-fake baseline)."""

    default_generator = "dcgan"


@register_method("fitymi-wgan-gp", groups=("knn", "fine-tuned", "fakes"), aliases=("fitymi-wgan",))
class FITYMIWGANGP(FITYMI):
    """FITYMI's fine-tuning fed with WGAN-GP fakes of the normal class (GAN-fake baseline)."""

    default_generator = "wgan-gp"


@register_method("fitymi-bank", groups=("knn", "fine-tuned", "fakes"))
class FITYMIBank(FakeTrainedViT):
    """FITYMI's fine-tuning fed with fakes from a class-ordered file (e.g. FITYMI's released ones)."""

    profiles = {
        "smoke": {**SMOKE_VIT, "bank_path": None},
        "paper": {**PAPER_VIT, "bank_path": "fitymi/cifar10_training_gen_data.npy", "bank_classes": 10},
        "paper+high-res": dict(HIGH_RES),
    }

    def __init__(
        self,
        *,
        backbone: str = "timm:vit_base_patch16_224.orig_in21k",
        weights: str = "pretrained",
        model_options: Mapping[str, Any] | None = None,
        dropout: float = 0.1,
        image_size: int = 224,
        resize: int | None = 256,
        frozen_blocks: int = 6,
        epochs: int = 30,
        batch_size: int = 16,
        lr: float = 4e-4,
        momentum: float = 0.0,
        weight_decay: float = 5e-5,
        fake_ratio: float = 1.0,
        k: int = 2,
        bank_path: str | None = "fitymi/cifar10_training_gen_data.npy",
        bank_classes: int = 10,
    ):
        super().__init__(
            backbone=backbone, weights=weights, model_options=model_options, dropout=dropout, image_size=image_size,
            resize=resize, frozen_blocks=frozen_blocks, epochs=epochs, batch_size=batch_size, lr=lr,
            momentum=momentum, weight_decay=weight_decay, fake_ratio=fake_ratio, k=k,
        )
        self.bank_path = bank_path
        self.bank_classes = bank_classes

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        path = bank_file(params["bank_path"], ctx.data_root)
        return weights_requirement(params["backbone"], params["weights"]) + [Requirement(
            what="a class-ordered fake bank (uint8 N×H×W×3 .npy)",
            path=path or Path("<bank_path not set>"),
            how_to_get="point bank_path at FITYMI's released training fakes or a bank `bench fakes` wrote",
            param="bank_path",
        )]

    def training_fakes(self, train: ImageSet, ctx: RunContext) -> np.ndarray:
        path = bank_file(self.bank_path, ctx.data_root)
        if path is None:
            raise ValueError("fitymi-bank needs bank_path: --set fitymi-bank.bank_path=FILE")
        if ctx.normal_class is None and self.bank_classes != 1:
            raise ValueError("a class-ordered bank needs the normal class (or bank_classes=1)")
        fakes = class_slice(load_fake_bank(path, self.bank_classes), ctx.normal_class or 0, self.bank_classes)
        return fakes[: self.n_fakes(train)]


def bank_file(bank_path: str | None, data_root: Path) -> Path | None:
    """`bank_path` as a file: absolute, or under the data root; None when not set."""
    if bank_path is None:
        return None
    path = Path(bank_path).expanduser()
    return path if path.is_absolute() else Path(data_root) / path
