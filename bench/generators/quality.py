"""Fake quality: how close a bank's fakes are to the real images of their class.

Three kinds of figures, each stored in the bank's JSON (`quality`), printed by `bench fakes`
and carried into the records of the cells that use the bank:

- **FID and KID** (Heusel et al. 2017; Bińkowski et al. 2018) of the fakes against the class's
  real training images, with torchmetrics' implementations (`FrechetInceptionDistance`,
  `KernelInceptionDistance`) on torch-fidelity's Inception-v3 — the TF-FID weights,
  `weights-inception-2015-12-05-6726825d.pth`, which `bench prepare` fetches into
  `$TORCH_HOME/hub/checkpoints` (checked against the SHA-256 prefix in their name before they
  are loaded). Without them FID and KID are left out with a one-line notice. Both compare
  sets of a few hundred to a few thousand images: with small sets FID is biased upwards, so
  compare banks of equal size only.
- **FD in a backbone**: the same Fréchet distance between Gaussian fits, on the features of
  a backbone the run already has offline (`QualityBackbone`: DN2's ResNet-152 at 224 px for
  `paper`, a seeded random ResNet-18 at 32 px for `smoke`, whose figure only shows the code
  runs).
- **nearness**: with the backbone's features, each image's kNN score against the normal
  training features (k = 2, Σ squared L2: DN2's score) for held-out normal test images, for
  the fakes and for the real anomalies of the test set. `nearness` = (median fake score −
  median normal score) / (median anomaly score − median normal score): 0 means the fakes are
  as near the class as its own unseen images, 1 as far as its real anomalies, above 1 farther.
  `knn_auroc_fakes` and `knn_auroc_anomalies` are the AUROC of that kNN score for fakes and for
  real anomalies against the held-out normals (how easily plain kNN tells each apart).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.context import RunContext
from bench.images import ArrayImages, ImageSet

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
INCEPTION_SHA256 = "6726825d"  # the prefix in the file's name (torch hub's convention)
KID_SUBSET = 1000  # torchmetrics' default subset size, capped by the sets' sizes


@dataclass(frozen=True)
class QualityBackbone:
    """The backbone the FD and nearness figures use: a `bench.backbones` name and weights, and
    the eval transform's crop and resize."""

    backbone: str = "resnet152"
    weights: str = "IMAGENET1K_V1"
    image_size: int = 224
    resize: int | None = 256

    @classmethod
    def for_profile(cls, profile: str | None) -> "QualityBackbone":
        """DN2's backbone for GPU profiles; a random ResNet-18 at 32 px for `smoke`."""
        if profile == "smoke":
            return cls("resnet18", "random", 32, 32)
        return cls()

    def describe(self) -> str:
        return f"{self.backbone} ({self.weights}, {self.image_size} px)"


def inception_weights() -> Path:
    """Where `bench prepare` puts the FID Inception weights (the torch hub cache)."""
    from bench.backbones import torch_hub_checkpoints

    return torch_hub_checkpoints() / INCEPTION_FILE


def fetch_inception_weights(progress: bool = True) -> Path:
    """Download the FID Inception weights (needs internet, or `BENCH_WEIGHTS_MIRROR` with a copy
    of the file); checked against their SHA-256 prefix."""
    from bench.download import download

    mirror = os.environ.get("BENCH_WEIGHTS_MIRROR")
    url = f"{mirror.rstrip('/')}/{INCEPTION_FILE}" if mirror else INCEPTION_URL
    return download(url, inception_weights(), algorithm="sha256", expected=INCEPTION_SHA256, progress=progress)


def inception_network(path: Path):
    """torch-fidelity's FID Inception-v3 (uint8 N×3×H×W → N×2048) from a verified file."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    from bench.download import check_digest

    check_digest(path, "sha256", INCEPTION_SHA256)  # torch-fidelity unpickles it: only the published file
    return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                              feature_extractor_weights_path=str(path))


def as_uint8_nchw(images: np.ndarray):
    """uint8 N×H×W×3 (or N×H×W) as a uint8 tensor N×3×H×W."""
    import torch

    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=3)
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def fid_kid(real: np.ndarray, fakes: np.ndarray, feature, *, device: str = "cpu", seed: int = 0,
            batch_size: int = 100) -> dict:
    """FID and KID (mean and standard deviation over subsets) of uint8 N×H×W×3 `fakes` against
    `real`, with torchmetrics; `feature` maps uint8 N×3×H×W batches to N×D features (the FID
    Inception network, or any module). KID's subsets are `min(1000, n_real, n_fakes)` images,
    drawn under `seed`."""
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    import warnings

    subset = min(KID_SUBSET, len(real), len(fakes))
    fid = FrechetInceptionDistance(feature=feature).to(device)
    with warnings.catch_warnings():  # that KID keeps every feature: a bank's are a few MB
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=feature, subset_size=subset).to(device)
    for images, is_real in ((real, True), (fakes, False)):
        for start in range(0, len(images), batch_size):
            batch = as_uint8_nchw(images[start : start + batch_size]).to(device)
            fid.update(batch, real=is_real)
            kid.update(batch, real=is_real)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std), "kid_subset": subset}


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of feature rows `a` and `b` (N×D each):
    ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½), the FID formula, with scipy's `sqrtm`."""
    import warnings

    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # fewer images than dimensions: a singular product, whose root sqrtm still finds
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * np.real(root)))


def features(images: ImageSet, backbone: QualityBackbone, ctx: RunContext) -> np.ndarray:
    """The backbone's pooled features of `images` (float32 N×D), through the eval transform."""
    from bench.backbones import build_backbone
    from bench.loading import run_network
    from bench.transforms import eval_transform

    network = build_backbone(backbone.backbone, backbone.weights, seed=0).to(ctx.device)
    return run_network(network, eval_transform(backbone.image_size, backbone.resize), images, ctx,
                       batch_size=64, desc="fake quality features")


def nearness(train: np.ndarray, normal: np.ndarray, fakes: np.ndarray, anomalies: np.ndarray, k: int = 2) -> dict:
    """kNN scores (Σ squared L2 to the `k` nearest training rows) of held-out normals, fakes and
    real anomalies; their medians, `nearness` and the two AUROCs (see the module docstring)."""
    from sklearn.metrics import roc_auc_score

    from bench.knn import knn_score

    scores = {name: knn_score(train, rows, k) for name, rows in
              (("normal", normal), ("fakes", fakes), ("anomalies", anomalies))}
    median = {name: float(np.median(values)) for name, values in scores.items()}
    spread = median["anomalies"] - median["normal"]

    def auroc(other: str) -> float:
        labels = np.r_[np.zeros(len(scores["normal"])), np.ones(len(scores[other]))]
        return float(roc_auc_score(labels, np.r_[scores["normal"], scores[other]]))

    return {
        "nearness": (median["fakes"] - median["normal"]) / spread if spread > 0 else None,
        "knn_median": median,
        "knn_auroc_fakes": auroc("fakes"),
        "knn_auroc_anomalies": auroc("anomalies"),
    }


def measure(
    fakes: np.ndarray,
    train: ImageSet,
    ctx: RunContext,
    *,
    backbone: QualityBackbone,
    normal_test: ImageSet | None = None,
    anomalies: ImageSet | None = None,
    notice=None,
) -> dict:
    """Every figure this module knows for `fakes` (uint8 N×H×W×3) of the class whose training
    images are `train`; `normal_test` and `anomalies` (the test set's normal and anomalous
    images) enable `nearness`. A figure that cannot be computed is None, with the reason under
    `skipped`, and `notice(line)` is told once."""
    from bench.backbones import weights_requirement

    real = np.stack([np.asarray(train[i].convert("RGB").resize(fakes.shape[2:0:-1])) for i in range(len(train))])
    result: dict = {"n_fakes": int(len(fakes)), "n_real": int(len(real)), "skipped": {}}
    weights = inception_weights()
    if weights.exists():
        result.update(fid_kid(real, fakes, inception_network(weights), device=ctx.device, seed=ctx.seed))
    else:
        result.update(fid=None, kid=None, kid_std=None)
        result["skipped"]["fid"] = f"Inception weights not at {weights}: `bench prepare` fetches them"
    missing = [r for r in weights_requirement(backbone.backbone, backbone.weights) if not r.present]
    result["backbone"] = backbone.describe()
    if missing:
        result.update(fd_backbone=None, nearness=None)
        result["skipped"]["backbone"] = f"{missing[0].what} not at {missing[0].path}: `bench prepare` fetches them"
    else:
        train_features = features(train, backbone, ctx)
        fake_features = features(ArrayImages(fakes), backbone, ctx)
        result["fd_backbone"] = frechet_distance(train_features, fake_features)
        if normal_test is not None and anomalies is not None and len(normal_test) and len(anomalies):
            result.update(nearness(train_features, features(normal_test, backbone, ctx), fake_features,
                                   features(anomalies, backbone, ctx)))
        else:
            result["nearness"] = None
            result["skipped"]["nearness"] = "no held-out normal and anomalous test images to compare with"
    if notice is not None and result["skipped"]:
        notice("fake quality: " + "; ".join(f"{name} skipped ({why})" for name, why in result["skipped"].items()))
    return result
