"""FITYMI — "Fake It Till You Make It" (Mirzaei et al., ICLR 2023), and its GAN-fake baselines.

Recipe (rohban-lab/FITYMI `main.py`, `train.py`, `eval.py`; the generation code was never
released, see `bench.generators`):

1. fakes of the normal class from a generator trained on the normal training images alone,
   as many as there are normal images (1:1);
2. fine-tune a pretrained ViT-B/16 to tell normal (0) from fake (1): a new, randomly
   initialised 2-way head on the 768-d CLS feature after the final LayerNorm; blocks 0–5
   frozen, everything else trains (blocks 6–11, final norm, head, and the patch and position
   embeddings and CLS token); dropout 0.1 where jeonsworld/ViT-pytorch (`models/modeling.py`,
   `models/configs.py`) puts it — after the patch + position embeddings and after each of the
   MLP's two layers, none in attention or after its output projection (timm's `pos_drop_rate`
   and `proj_drop_rate`, with each block's `attn.proj_drop` set to 0; timm's `drop_rate` alone
   would only drop before the head) — active while training (`model.train()`); SGD lr 4e-4,
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
root or absolute), sliced as the reference slices it: class c is `bank[N·c : N·(c+1)]`, N the
number of normal training images (5,000 per CIFAR-10 class, 2,500 per CIFAR-100 superclass).
`bank_classes` says how many classes the file holds (10 for the released CIFAR-10 file; None:
as many as the dataset): a dataset with another number of classes is refused at plan time,
as is a file too short for a selected class or one `bench fakes` made for a benchmark's test
set (stream `benchmark`). For datasets tagged `high-res` (MVTec, CUB, Flowers, Cars, WBC) the
`paper` profile takes FITYMI's high-resolution recipe (lr 5e-3, 150 epochs), and the fake
generators work at the data's resolution (at most their `max_image_size`, 128 px) instead of
32 px — the generator parameters are resolved for the dataset at plan time and kept in the
cell's record, with the bank the cell trained on (`train_fakes`: file, SHA-256, generator,
config hash, stream, seed). The `smoke` profile: a 4-block, 64-wide random-init ViT on 16×16
images, 2 blocks frozen, 8×8 generators trained for 25–100 steps, 6 epochs with momentum —
seconds on a CPU.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from bench.backbones import RANDOM, build_backbone, weights_requirement
from bench.context import RunContext
from bench.detectors import TrainedFeatureKNN
from bench.digest import file_digest
from bench.generators.bank import (BankRequest, bank_info, check_bank_file, class_slice, fake_bank, load_fake_bank,
                                  provenance)
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


def reference_dropout_vit(backbone: str, weights: str, *, seed: int, rate: float, model_options=None):
    """A timm ViT with dropout `rate` at jeonsworld/ViT-pytorch's sites: after the patch +
    position embeddings and after each MLP layer; none in attention, after the attention
    projection or before the head."""
    vit = build_backbone(backbone, weights, seed=seed, drop_rate=0.0, pos_drop_rate=rate, proj_drop_rate=rate,
                         attn_drop_rate=0.0, **(model_options or {}))
    for block in vit.blocks:
        block.attn.proj_drop.p = 0.0  # the reference's attention output uses attention_dropout_rate (0)
    return vit


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

    tags = Tags(gpu_profiles=("paper",), min_image_size=16, untrained_params={"epochs": 0})
    trains_on_fakes: ClassVar[bool] = True  # `bench prepare` fetches the FID weights for its banks

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
            vit = reference_dropout_vit(self.backbone, self.weights, seed=ctx.seed, rate=self.dropout,
                                        model_options=self.model_options)
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
    def for_dataset(cls, params: Mapping[str, Any], profile: str, dataset: type) -> dict[str, Any]:
        """`generator_params` becomes the generator's every resolved value, its resolution
        following the dataset's `image_size`: the cell's record says what made its fakes."""
        from bench.generators import generator_params
        from bench.generators.base import follow_data

        resolved = generator_params(params["generator"] or cls.default_generator,
                                    params["generator_profile"] or profile, params["generator_params"])
        return {**params, "generator_params": follow_data(resolved, dataset.image_size)}

    @classmethod
    def generators_used(cls, params: Mapping[str, Any]) -> tuple:
        from bench.generators import generators

        return (generators.get(params["generator"] or cls.default_generator),)

    def training_fakes(self, train: ImageSet, ctx: RunContext) -> np.ndarray:
        from bench.generators import generator_params

        name = self.generator or self.default_generator
        profile = self.generator_profile or ctx.profile
        params = generator_params(name, profile, self.generator_params)
        request = BankRequest(name, params, self.n_fakes(train), ctx.seed, stream="method", profile=profile)
        bank, path = fake_bank(train, request, ctx)
        self.train_fakes_ = provenance(path, request.following(train))
        return bank


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
        bank_classes: int | None = 10,
    ):
        super().__init__(
            backbone=backbone, weights=weights, model_options=model_options, dropout=dropout, image_size=image_size,
            resize=resize, frozen_blocks=frozen_blocks, epochs=epochs, batch_size=batch_size, lr=lr,
            momentum=momentum, weight_decay=weight_decay, fake_ratio=fake_ratio, k=k,
        )
        self.bank_path = bank_path
        self.bank_classes = bank_classes

    @classmethod
    def inputs(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        path = bank_file(params["bank_path"], ctx.data_root)
        return [Requirement(
            what="a class-ordered fake bank (uint8 N×H×W×3 .npy)",
            path=path or Path("<bank_path not set>"),
            how_to_get="point bank_path at FITYMI's released training fakes or a bank `bench fakes` wrote",
            param="bank_path",
            check=functools.partial(check_bank_file, classes=params["bank_classes"]),
        )]

    @classmethod
    def check_inputs(cls, params: Mapping[str, Any], benchmark, classes: list[int], data_root) -> None:
        """`bank_classes` agrees with the dataset; the bank is a uint8 N×H×W×3 file, not made
        for a benchmark's test set, and holds the block [N·c, N·(c+1)) of every selected class c
        (N its number of training images). Checked only for cells that will run, so a sweep
        that skips fitymi-bank for want of a bank is not stopped by it."""
        from bench.context import RunContext

        bank_classes = params["bank_classes"]
        if bank_classes is not None and bank_classes != len(benchmark.classes):
            raise ValueError(
                f"bank_classes={bank_classes} contradicts {benchmark.name}'s {len(benchmark.classes)} classes: point "
                f"bank_path at a bank of {benchmark.name} in class order and --set fitymi-bank.bank_classes="
                f"{len(benchmark.classes)} (or null)"
            )
        path = bank_file(params["bank_path"], data_root)
        if path is None or not path.exists():
            return  # the requirement reports it
        bank = load_fake_bank(path)
        refuse_benchmark_bank(path)
        ctx = RunContext(data_root=Path(data_root))
        for normal_class in classes:
            per_class = benchmark.train_size(normal_class, ctx)
            if per_class is None:
                continue  # checked when the cell runs
            if params["bank_classes"] is not None and len(bank) != per_class * params["bank_classes"]:
                raise ValueError(
                    f"{path} holds {len(bank)} fakes, not {params['bank_classes']} classes × {per_class} (the number of "
                    f"training images of class {normal_class}): FITYMI slices class c as [N·c, N·(c+1))"
                )
            class_slice(bank, normal_class, per_class, path)

    def training_fakes(self, train: ImageSet, ctx: RunContext) -> np.ndarray:
        path = bank_file(self.bank_path, ctx.data_root)
        if path is None:
            raise ValueError("fitymi-bank needs bank_path: --set fitymi-bank.bank_path=FILE")
        if ctx.normal_class is None:
            raise ValueError("a class-ordered bank needs the normal class")
        refuse_benchmark_bank(path)
        fakes = class_slice(load_fake_bank(path), ctx.normal_class, len(train), path)[: self.n_fakes(train)]
        info = bank_info(path)
        self.train_fakes_ = {
            "path": str(path), "sha256": file_digest(path), "slice": [ctx.normal_class * len(train), len(fakes)],
            **{key: info[key] for key in ("generator", "config_hash", "stream", "seed", "profile") if key in info},
        }
        return fakes


def refuse_benchmark_bank(path: Path) -> None:
    """ValueError when the JSON beside a bank file says it holds a benchmark's test fakes."""
    if bank_info(path).get("stream") == "benchmark":
        raise ValueError(
            f"{path} holds a near-distribution benchmark's test fakes (stream benchmark): a method must not train on "
            "them; make training fakes with `bench fakes --stream method`"
        )


def bank_file(bank_path: str | None, data_root: Path) -> Path | None:
    """`bank_path` as a file: absolute, or under the data root; None when not set."""
    if bank_path is None:
        return None
    path = Path(bank_path).expanduser()
    return path if path.is_absolute() else Path(data_root) / path
