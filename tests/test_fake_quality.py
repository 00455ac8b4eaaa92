"""Fake quality: FID, KID and the backbone Fréchet distance checked against direct
computations, nearness, the Inception weights `bench prepare` fetches, and grids that show
real images and say when a bank is a smoke one."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from bench.context import RunContext
from bench.datasets.digits import digit_images
from bench.generators.bank import SMOKE_CAPTION, BankRequest
from bench.generators.quality import (
    INCEPTION_FILE,
    QualityBackbone,
    fid_kid,
    frechet_distance,
    inception_weights,
    measure,
    nearness,
)
from bench.images import ArrayImages
from tests.conftest import run_cli


class PixelFeatures(torch.nn.Module):
    """A small, fixed feature extractor: mean colour and a 5-d random projection of a
    4×4 thumbnail (uint8 N×3×H×W → float N×8)."""

    def __init__(self):
        super().__init__()
        self.projection = torch.randn(48, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def forward(self, images):
        x = images.double() / 255.0
        thumb = torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
        return torch.cat([x.mean(dim=(2, 3)), thumb @ self.projection], dim=1)


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    covmean = linalg.sqrtm(np.cov(a, rowvar=False) @ np.cov(b, rowvar=False)).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(np.cov(a, rowvar=False) + np.cov(b, rowvar=False) - 2 * covmean))


def unbiased_kid(a: np.ndarray, b: np.ndarray) -> float:
    """MMD² with the cubic polynomial kernel (x·y/d + 1)³, unbiased (Bińkowski et al.), by loops."""
    d = a.shape[1]
    kernel = lambda x, y: (x @ y / d + 1.0) ** 3  # noqa: E731
    m, n = len(a), len(b)
    k_aa = sum(kernel(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    k_bb = sum(kernel(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    k_ab = sum(kernel(a[i], b[j]) for i in range(m) for j in range(n)) / (m * n)
    return float(k_aa + k_bb - 2 * k_ab)


def test_fid_and_kid_match_a_direct_computation(rng):
    real = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
    fakes = np.clip(rng.integers(0, 256, (30, 8, 8, 3)) * 0.7 + 40, 0, 255).astype(np.uint8)
    feature = PixelFeatures()
    figures = fid_kid(real, fakes, feature, batch_size=16)
    with torch.no_grad():
        to_tensor = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2)  # noqa: E731
        a, b = feature(to_tensor(real)).numpy(), feature(to_tensor(fakes)).numpy()
    assert figures["fid"] == pytest.approx(scipy_fid(a, b), rel=1e-4)
    assert figures["kid_subset"] == 30
    # every KID subset of 30 fakes is all of them; of the real images, a random 30 of 40
    assert unbiased_kid(a[:30], b) != pytest.approx(unbiased_kid(a, b))  # (subsets matter)
    same_size = fid_kid(real[:30], fakes, feature)
    assert same_size["kid"] == pytest.approx(unbiased_kid(a[:30], b), rel=1e-6) and same_size["kid_std"] < 1e-9
    assert fid_kid(real, real, feature)["fid"] == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_gaussians_is_the_closed_form(rng):
    a = rng.normal(1.0, 2.0, size=(20000, 1))
    b = rng.normal(-0.5, 0.5, size=(20000, 1))
    assert frechet_distance(a, b) == pytest.approx(1.5**2 + (2.0 - 0.5) ** 2, rel=0.02)  # (μ₁−μ₂)² + (σ₁−σ₂)²
    x, y = rng.normal(size=(300, 6)), rng.normal(size=(200, 6)) + 0.3
    assert frechet_distance(x, y) == pytest.approx(scipy_fid(x, y), rel=1e-9)


def test_nearness_places_fakes_between_unseen_normals_and_real_anomalies(rng):
    train = rng.normal(size=(200, 4))
    normal, anomalies = rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 4.0
    halfway = rng.normal(size=(100, 4)) + 2.0
    near = nearness(train, normal, halfway, anomalies)
    assert 0.1 < near["nearness"] < 0.6
    assert near["knn_auroc_anomalies"] > near["knn_auroc_fakes"] > 0.5
    assert nearness(train, normal, normal, anomalies)["nearness"] == pytest.approx(0.0)
    assert nearness(train, normal, anomalies, anomalies)["nearness"] == pytest.approx(1.0)


@pytest.fixture
def inception_file(tmp_path, monkeypatch):
    """torch-fidelity's Inception-v3 with random weights, saved in its real format; returns the
    file's SHA-256 (which takes the place of the published one)."""
    import hashlib

    from torch_fidelity import feature_extractor_inceptionv3 as module

    with monkeypatch.context() as patch:
        patch.setattr(module, "load_state_dict_from_url", lambda *a, **k: None)
        patch.setattr(module.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            network = module.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path / "inception" / INCEPTION_FILE
    path.parent.mkdir()
    torch.save(network.state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_prepare_fetches_the_inception_weights_and_fid_uses_them(inception_file, http_root, tmp_path, monkeypatch):
    served, base_url = http_root
    source, sha256 = inception_file
    shutil.copy(source, served / INCEPTION_FILE)
    monkeypatch.setattr("bench.generators.quality.INCEPTION_SHA256", sha256[:8])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("BENCH_WEIGHTS_MIRROR", base_url)
    images, labels = digit_images()
    train = ArrayImages(images[labels == 2][:12])
    fakes = np.repeat(images[labels == 3][:10, ..., None], 3, axis=3)
    without = measure(fakes, train, RunContext(), backbone=QualityBackbone.for_profile("smoke"))
    assert without["fid"] is None and "bench prepare" in without["skipped"]["fid"]
    assert without["fd_backbone"] > 0 and without["nearness"] is None  # offline figure still there

    status, out, err = run_cli("prepare", "--methods", "dn2", "--datasets", "digits-fsde", "--no-build", "--quiet")
    assert status == 0, err
    assert inception_weights().exists() and "Inception" in err
    with_weights = measure(fakes, train, RunContext(), backbone=QualityBackbone.for_profile("smoke"))
    assert with_weights["fid"] > 0 and with_weights["kid"] is not None and "fid" not in with_weights["skipped"]


def test_bench_fakes_stores_and_prints_quality_and_a_grid_with_real_images(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Inception weights: FID is left out
    status, out, err = run_cli("fakes", "--dataset", "digits", "--class", "4", "--generator", "dcgan", "--n", "20",
                               "--set", "train_steps=5", "--device", "cpu", "--quiet")
    assert status == 0, err
    assert "quality: FID -, KID -" in out and "FD[resnet18 (random, 32 px)]" in out and "nearness" in out
    assert "notice: fid not measured" in err
    bank_path = next((tmp_path / "fakes").rglob("*.npy"))
    info = json.loads(bank_path.with_suffix(".json").read_text())
    assert info["profile"] == "smoke" and info["stream"] == "method" and info["quality"]["nearness"] is not None
    assert info["quality"]["knn_auroc_anomalies"] > 0.5
    grid = np.asarray(Image.open(bank_path.with_suffix(".png")).convert("RGB"))
    assert (grid[:, :, 0] > 150).any() and ((grid[:, :, 0] > 150) & (grid[:, :, 1] < 60)).any()  # red smoke caption
    assert (grid == 0).all(axis=2).all(axis=1).any()  # the black bar between real images and fakes


def test_grid_shows_real_images_above_the_fakes(tmp_path):
    from bench.generators.bank import write_grid

    real = np.full((4, 8, 8, 3), (10, 200, 10), np.uint8)
    fakes = np.full((4, 8, 8, 3), (10, 10, 200), np.uint8)
    write_grid(fakes, tmp_path / "g.png", columns=4, real=real)
    write_grid(fakes, tmp_path / "s.png", columns=4, real=real, caption=SMOKE_CAPTION)
    grid = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"))
    rows_real = np.flatnonzero((grid == (10, 200, 10)).all(axis=2).any(axis=1))
    rows_fake = np.flatnonzero((grid == (10, 10, 200)).all(axis=2).any(axis=1))
    assert len(rows_real) and len(rows_fake) and rows_real.max() < rows_fake.min()
    assert Image.open(tmp_path / "s.png").height > Image.open(tmp_path / "g.png").height  # one more line: the caption


def test_records_name_the_bank_a_cell_trained_on(results, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    status, _, err = run_cli("run", "--methods", "fitymi-dcgan", "--datasets", "digits", "--classes", "2",
                             "--set", "fitymi-dcgan.epochs=1", "--set", 'fitymi-dcgan.generator_params={"train_steps": 3}',
                             "--results", str(results), "--executor", "inline", "--quiet")
    assert status == 0, err
    record = json.loads(next(results.rglob("c2-s0.json")).read_text())
    fakes = record["train_fakes"]
    from bench.digest import file_digest

    assert fakes["sha256"] == file_digest(fakes["path"]) and fakes["generator"] == "dcgan"
    assert (fakes["stream"], fakes["seed"], fakes["profile"]) == ("method", 0, "smoke")
    assert fakes["params"]["image_size"] == 8 and fakes["params"]["train_steps"] == 3
    assert record["cell"]["method_params"]["generator_params"]["image_size"] == 8  # resolved at plan time
    request = BankRequest("dcgan", fakes["params"], fakes["n"], 0)
    assert fakes["config_hash"] == request.config_hash and fakes["path"].endswith(f"-method-s0-n{fakes['n']}.npy")
