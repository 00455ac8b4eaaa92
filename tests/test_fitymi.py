"""FITYMI and its fake-fed variants: what trains, what stays frozen, where fakes come from,
and that the smoke run detects anomalies."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch

from bench import registry
from bench.backbones import build_backbone
from bench.datasets.digits import digit_images
from bench.context import RunContext
from bench.images import ArrayImages
from bench.methods.fitymi import FITYMI, freeze_blocks
from tests.conftest import run_cli


def smoke(name="fitymi", **overrides):
    cls = registry.methods.get(name).factory
    return cls(**{**cls.profiles["smoke"], **overrides})


@pytest.fixture(scope="module")
def zeros():
    images, labels = digit_images()
    return ArrayImages(images[labels == 0][:40], key="test/zeros")


def test_frozen_blocks_keep_their_weights_and_the_rest_trains(zeros):
    detector = smoke(epochs=3, generator_params={"train_steps": 20})
    detector.fit(zeros, RunContext(seed=4))
    initial = build_backbone(detector.backbone, detector.weights, seed=4, **detector.model_options).state_dict()
    tuned = detector.network_.state_dict()
    frozen = [n for n in initial if n.startswith(("blocks.0.", "blocks.1."))]
    trained = [n for n in initial if n not in frozen]
    assert frozen and all(torch.equal(initial[n], tuned[n]) for n in frozen)
    # the later blocks, the final norm, and the embeddings and CLS token all move
    for name in ("blocks.2.attn.qkv.weight", "blocks.3.mlp.fc2.weight", "norm.weight", "pos_embed", "cls_token",
                 "patch_embed.proj.weight"):
        assert not torch.equal(initial[name], tuned[name]), name
    assert sum(not torch.equal(initial[n], tuned[n]) for n in trained) == len(trained)


def test_freeze_blocks_refuses_more_blocks_than_the_model_has():
    vit = build_backbone("timm:vit_tiny_patch16_224", "random", img_size=16, patch_size=4, depth=2, embed_dim=32,
                         num_heads=2)
    assert len(freeze_blocks(vit, 2)) < len(list(vit.parameters()))
    with pytest.raises(ValueError, match="has 2 blocks"):
        freeze_blocks(vit, 3)


def test_normal_vs_fake_loss_falls(zeros):
    detector = smoke(epochs=12, generator_params={"train_steps": 50}).fit(zeros, RunContext(seed=0))
    history = detector.loss_history_
    assert len(history) == 12 and np.mean(history[-3:]) < 0.8 * np.mean(history[:3])


def test_fakes_are_one_per_normal_image_from_the_named_generator(zeros, tmp_path):
    ctx = RunContext(seed=0, cache_dir=tmp_path)
    fakes = smoke("fitymi-dcgan", generator_params={"train_steps": 5}).training_fakes(zeros, ctx)
    assert fakes.shape == (40, 8, 8, 3) and fakes.dtype == np.uint8
    assert [p.name.split("-")[0] for p in (tmp_path / "fakes").rglob("*.npy")] == ["dcgan"]
    half = smoke("fitymi-wgan-gp", fake_ratio=0.5, generator_params={"train_steps": 5}).training_fakes(zeros, ctx)
    assert len(half) == 20


def test_bank_variant_takes_the_normal_class_slice(zeros, tmp_path):
    bank = np.repeat(np.arange(10, dtype=np.uint8), 40)[:, None, None, None] * np.ones((1, 32, 32, 3), np.uint8)
    np.save(tmp_path / "bank.npy", bank)
    detector = smoke("fitymi-bank", bank_path="bank.npy")  # relative to the data root
    fakes = detector.training_fakes(zeros, RunContext(normal_class=7, data_root=tmp_path))
    assert fakes.shape == (40, 32, 32, 3) and (fakes == 7).all()
    with pytest.raises(ValueError, match="normal class"):
        detector.training_fakes(zeros, RunContext(data_root=tmp_path))


def test_smoke_run_beats_chance_on_digits(results):
    status, out, err = run_cli("run", "--methods", "fitymi", "--datasets", "digits", "--classes", "0",
                               "--results", str(results), "--executor", "inline", "--quiet")
    assert status == 0, err
    status, out, _ = run_cli("table", "--results", str(results), "--format", "csv")
    auroc = float(next(csv.DictReader(io.StringIO(out)))["mean"])
    assert auroc > 0.65, out  # chance is 0.5; with 91 normal and 808 anomalous images its SE is about 0.03


def test_paper_profile_is_the_published_recipe():
    paper = FITYMI.profiles["paper"]
    assert paper["backbone"] == "timm:vit_base_patch16_224.orig_in21k" and paper["weights"] == "pretrained"
    assert (paper["frozen_blocks"], paper["epochs"], paper["batch_size"]) == (6, 30, 16)
    assert (paper["lr"], paper["momentum"]) == (4e-4, 0.0)
    assert (paper["image_size"], paper["resize"]) == (224, 256)
    detector = smoke()
    assert detector.weight_decay == 5e-5 and detector.k == 2 and detector.fake_ratio == 1.0


def test_prepare_reports_a_bank_it_cannot_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    status, out, err = run_cli("prepare", "--methods", "fitymi*", "--datasets", "digits", "--quiet")
    assert status == 0 and "notice: fitymi-bank needs a class-ordered fake bank" in err
    status, _, err = run_cli("prepare", "--methods", "fitymi-bank", "--datasets", "digits")
    assert status == 2 and "bank_path" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "override, message",
    [
        ('fitymi.generator_params={"trian_steps": 3}', "has no parameter trian_steps"),
        ('fitymi.generator_params={"sde": "ve"}', "samples with pc, not 'ddim'"),
        ("fitymi.generator=vae", "unknown generator 'vae'"),
        ("fitymi.generator_profile=fast", "no profile 'fast'"),
        ("digits-fsde.generator_params={\"t_stop\": 1.5}", "t_stop must lie in [0, 1)"),
    ],
)
def test_generator_settings_are_checked_before_anything_runs(results, override, message):
    status, _, err = run_cli("run", "--methods", "fitymi", "--datasets", "digits,digits-fsde", "--set", override,
                             "--results", str(results))
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not results.exists()
