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
    return ArrayImages(images[labels == 0][:40], name="test/zeros")


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
    status, out, err = run_cli("prepare", "--methods", "fitymi-bank", "--datasets", "digits")
    assert status == 1 and "by hand: a class-ordered fake bank" in out and "bank_path" in out  # listed, at the end


@pytest.mark.parametrize(
    "override, message",
    [
        ('fitymi.generator_params={"trian_steps": 3}', "has no parameter trian_steps"),
        ('fitymi.generator_params={"sde": "ve"}', "samples with pc, not 'ddim'"),
        ("fitymi.generator=vae", "unknown generator 'vae'"),
        ("fitymi.generator_profile=fast", "no profile 'fast'"),
        ("digits-fsde.generator_params={\"t_stop\": 1.5}", "t_stop=1.5 is out of range: it must be in [0, 1)"),
    ],
)
def test_generator_settings_are_checked_before_anything_runs(results, override, message):
    status, _, err = run_cli("run", "--methods", "fitymi", "--datasets", "digits,digits-fsde", "--set", override,
                             "--results", str(results))
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not results.exists()


def test_vit_dropout_sits_where_the_reference_puts_it():
    from bench.methods.fitymi import reference_dropout_vit

    vit = reference_dropout_vit("timm:vit_tiny_patch16_224", "random", seed=0, rate=0.1,
                                model_options={"img_size": 16, "patch_size": 4, "embed_dim": 32, "depth": 2, "num_heads": 2})
    assert vit.pos_drop.p == 0.1  # after the patch + position embeddings
    for block in vit.blocks:
        assert (block.mlp.drop1.p, block.mlp.drop2.p) == (0.1, 0.1)  # after each MLP layer
        assert (block.attn.attn_drop.p, block.attn.proj_drop.p) == (0.0, 0.0)  # none in attention
    assert vit.head_drop.p == 0.0
    dropouts = {name for name, module in vit.named_modules() if isinstance(module, torch.nn.Dropout) and module.p > 0}
    assert dropouts == {"pos_drop"} | {f"blocks.{i}.mlp.drop{j}" for i in range(2) for j in (1, 2)}


@pytest.fixture
def cifar100_root(tmp_path, monkeypatch):
    from tests.tiny_data import cifar100_root as build

    build(tmp_path).apply(monkeypatch)  # 2 training images per fine class: 10 per superclass
    return tmp_path


def class_ordered_bank(path, classes, per_class):
    np.save(path, np.repeat(np.arange(classes, dtype=np.uint8), per_class)[:, None, None, None]
            * np.ones((1, 32, 32, 3), np.uint8))
    return path


def test_bank_of_twenty_superclasses_is_sliced_by_the_training_count(cifar100_root):
    from bench.methods.fitymi import FITYMIBank

    class_ordered_bank(cifar100_root / "bank.npy", 20, 10)
    ctx = RunContext(data_root=cifar100_root)
    detector = smoke("fitymi-bank", bank_path="bank.npy", bank_classes=20)
    for superclass in (3, 6, 12, 19):
        train = registry.datasets.get("cifar100").factory().split(superclass, ctx).train
        fakes = detector.training_fakes(train, RunContext(normal_class=superclass, data_root=cifar100_root))
        assert len(fakes) == len(train) == 10 and (fakes == superclass).all()
    assert FITYMIBank.profiles["paper"]["bank_classes"] == 10  # the released file holds CIFAR-10's ten classes


@pytest.mark.parametrize("layout, settings, message", [
    ((20, 10), ["fitymi-bank.bank_classes=20"], None),
    ((20, 10), ["fitymi-bank.bank_classes=null"], None),
    ((20, 10), [], "bank_classes=10 contradicts cifar100's 20 classes"),
    ((20, 5), ["fitymi-bank.bank_classes=20"], "holds 100 fakes, not 20 classes × 10"),
    ((13, 10), ["fitymi-bank.bank_classes=null"], "class 19 takes images 190–199"),
])
def test_plan_checks_the_bank_against_the_dataset(cifar100_root, results, layout, settings, message):
    class_ordered_bank(cifar100_root / "bank.npy", *layout)
    argv = ["run", "--methods", "fitymi-bank", "--datasets", "cifar100", "--classes", "0,19", "--dry-run",
            "--data-root", str(cifar100_root), "--results", str(results), "--set", "fitymi-bank.bank_path=bank.npy"]
    for setting in settings:
        argv += ["--set", setting]
    status, out, err = run_cli(*argv)
    if message is None:
        assert status == 0, err
    else:
        assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_benchmark_stream_bank_is_refused_for_training(cifar100_root, results):
    from bench.atomic import write_json

    class_ordered_bank(cifar100_root / "bank.npy", 20, 10)
    write_json(cifar100_root / "bank.json", {"stream": "benchmark", "generator": "dcgan"})
    status, _, err = run_cli("run", "--methods", "fitymi-bank", "--datasets", "cifar100", "--classes", "0", "--dry-run",
                             "--data-root", str(cifar100_root), "--results", str(results),
                             "--set", "fitymi-bank.bank_path=bank.npy", "--set", "fitymi-bank.bank_classes=20")
    assert status == 2 and "stream benchmark" in err and "--stream method" in err


def test_generators_follow_each_datasets_resolution():
    from bench.plan import select

    selection = select("fitymi,fitymi-dcgan", "digits,cifar10,mvtec,wbc", profile="paper")
    sizes = {d: selection.method_params("fitymi", d)["generator_params"]["image_size"]
             for d in ("digits", "cifar10", "mvtec", "wbc")}
    assert sizes == {"digits": 8, "cifar10": 32, "mvtec": 128, "wbc": 128}
    mvtec = selection.method_params("fitymi", "mvtec")
    assert (mvtec["lr"], mvtec["epochs"]) == (5e-3, 150)  # FITYMI's high-resolution recipe
    assert selection.method_params("fitymi-dcgan", "cifar10")["generator_params"]["train_steps"] == 20_000
    capped = select("fitymi", "mvtec", profile="paper",
                    overrides=['fitymi.generator_params={"max_image_size": 64}']).method_params("fitymi", "mvtec")
    assert capped["generator_params"]["image_size"] == 64


def test_dry_run_shows_each_cells_resolved_parameters(results):
    status, out, err = run_cli("run", "--methods", "fitymi", "--datasets", "digits", "--classes", "0", "--dry-run",
                               "--results", str(results))
    assert status == 0, err
    assert "fitymi on digits (smoke" in out and '"image_size":8' in out and '"sde":"vp"' in out
