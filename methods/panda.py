"""PANDA (Reiss et al., CVPR 2021): adapt pretrained features to the normal class.

Recipe (talreiss/PANDA): torchvision ResNet-152 `IMAGENET1K_V1`; the centre c is the mean of
the *pretrained* features of the normal training images, computed in eval mode before any
update and then fixed; `layer3` and `layer4` train (BatchNorm affine weights included) while
every BatchNorm keeps its pretrained running statistics (the model stays in eval mode);
compactness loss mean‖φ(x) − c‖² / d; SGD lr 1e-2, momentum 0.9, weight decay 5e-5, gradient
norm clipped to 1e-3; 15 epochs of batch 32 with the 224 eval transform (no augmentation).
Score: Σ squared L2 to the 2 nearest fine-tuned training features. The variants with elastic
weight consolidation and with outlier exposure are `panda-ewc` and `panda-oe`.

The `smoke` profile trains a random-init ResNet-18 at 32 px for 3 epochs; with the recipe's
gradient clipping at norm 1e-3 its learning rate is 30 so that training moves the features
measurably — at 1e-2 the scores on digits stayed those of the untrained network, DN2's
(`bench.testing`'s check_training_changes_scores: standardised change 0.0005 at 1e-2, 0.24 at 30).
"""

from __future__ import annotations

from bench.backbones import build_backbone
from bench.detectors import PAPER_BACKBONE, SMOKE_BACKBONE, TrainedFeatureKNN
from bench.features import FeatureExtractor
from bench.loading import image_loader
from bench.registry import register_method
from bench.training import run_epochs, train_only


@register_method("panda", groups=("knn", "fine-tuned"))
class PANDA(TrainedFeatureKNN):
    """PANDA: compactness fine-tuning of layer3–4 towards the pretrained centre, then 2-NN."""

    profiles = {
        # lr × clip 1e-3 bounds each step: at the paper's 1e-2 three epochs leave the scores
        # those of the untrained network (DN2's); 30 moves them (check_training_changes_scores)
        "smoke": {**SMOKE_BACKBONE, "epochs": 3, "batch_size": 32, "lr": 30.0},
        "paper": {**PAPER_BACKBONE, "epochs": 15, "batch_size": 32},
    }

    def __init__(
        self,
        *,
        backbone: str = "resnet152",
        weights: str = "IMAGENET1K_V1",
        image_size: int = 224,
        resize: int | None = 256,
        epochs: int = 15,
        batch_size: int = 32,
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 5e-5,
        clip_norm: float = 1e-3,
        trainable_layers: tuple = ("layer3", "layer4"),
        k: int = 2,
    ):
        self.backbone = backbone
        self.weights = weights
        self.image_size = image_size
        self.resize = resize
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.trainable_layers = trainable_layers
        self.k = k

    def fit(self, train, ctx) -> "PANDA":
        import torch

        spec = self.feature_spec()
        pretrained = FeatureExtractor(spec, ctx, batch_size=self.batch_size)
        center = torch.as_tensor(pretrained(train, "pretrained features").mean(axis=0), device=ctx.device)
        model = build_backbone(self.backbone, self.weights, seed=ctx.seed).to(ctx.device)
        parameters = train_only(model, self.trainable_layers)
        model.eval()  # once and for good: BatchNorm keeps its pretrained running statistics
        optimizer = torch.optim.SGD(parameters, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        loader = image_loader(train, spec.transform(), ctx, batch_size=self.batch_size, shuffle=True)
        penalty = self.penalty(model, train, ctx)

        def compactness(images):
            features = model(images.to(ctx.device))
            loss = ((features - center) ** 2).sum(dim=1).div(features.shape[1]).mean()
            return loss if penalty is None else loss + penalty()

        self.loss_history_ = run_epochs(
            loader, compactness, optimizer, self.epochs, ctx, model=model,
            clip_norm=self.clip_norm, parameters=parameters, name="panda", desc="PANDA epochs",
        )
        self.network_ = model
        self.memorise(train, ctx)
        return self

    def penalty(self, model, train, ctx):
        """A regulariser added to the loss at every step (a callable returning a scalar
        tensor), given the network at its pretrained weights; None for PANDA itself."""
        return None
