"""Fake generators and fake banks: they learn, sample the documented format, cache, and
are reproducible from their seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bench.datasets.digits import digit_images
from bench.context import RunContext
from bench.errors import UserError
from bench.generators import generator_params, generators, make_generator
from bench.generators.bank import BankRequest, fake_bank
from bench.images import ArrayImages
from bench.seeding import seeded
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def threes():
    images, labels = digit_images()
    return ArrayImages(images[labels == 3][:90], name="test/threes")


def trained(name, images, seed=0, **overrides):
    with seeded(seed):
        return make_generator(name, "smoke", overrides).fit(images, RunContext(seed=seed))


def mean_image_error(samples: np.ndarray, images: ArrayImages) -> float:
    """How far the fakes' mean image is from the real one (grey levels)."""
    return float(np.abs(samples[..., 0].astype(float).mean(0) - images.array.astype(float).mean(0)).mean())


@pytest.mark.parametrize("sde, sampler", [("vp", "ddim"), ("vp", "ddpm"), ("ve", "pc")])
def test_diffusion_loss_falls_and_samples_have_the_bank_format(threes, sde, sampler):
    extra = {"sigma_max": 20.0, "sampling_steps": 20} if sde == "ve" else {}
    generator = trained("diffusion", threes, sde=sde, sampler=sampler, train_steps=150, **extra)
    losses = np.asarray(generator.loss_history_)
    assert len(losses) == 150 and losses[-30:].mean() < 0.7 * losses[:30].mean()
    with seeded(0):
        fakes = generator.sample(37, RunContext())
    assert fakes.dtype == np.uint8 and fakes.shape == (37, 8, 8, 3)
    assert (fakes[..., 0] == fakes[..., 1]).all() and (fakes[..., 0] == fakes[..., 2]).all()  # learned grayscale
    assert fakes.std() > 10  # not a constant image


@pytest.mark.parametrize("name, steps", [("dcgan", 200), ("wgan-gp", 80)])
def test_gans_move_their_fakes_towards_the_class(threes, name, steps):
    params = {**generator_params(name, "smoke"), "train_steps": 0}  # untrained: below what a plan accepts
    with seeded(0):
        untrained = generators.get(name).factory(**params).fit(threes, RunContext(seed=0))
    learned = trained(name, threes, train_steps=steps)
    with seeded(1):
        before = mean_image_error(untrained.sample(200, RunContext()), threes)
        after = mean_image_error(learned.sample(200, RunContext()), threes)
    assert after < 0.5 * before
    assert len(learned.loss_history_) == len(getattr(learned, f"{learned.adversary}_history_")) == steps


def test_rgb_images_give_rgb_fakes(rng):
    colour = ArrayImages(rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8))
    fakes = trained("dcgan", colour, train_steps=5).sample(4, RunContext())
    assert fakes.shape == (4, 8, 8, 3) and not (fakes[..., 0] == fakes[..., 1]).all()


def test_truncated_reverse_process_runs_fewer_network_steps(threes):
    generator = trained("diffusion", threes, train_steps=5, sampling_steps=40)
    calls = []
    generator.network_.register_forward_hook(lambda *args: calls.append(1))
    generator.sample(4, RunContext())
    full = len(calls)
    for denoise in (False, True):
        calls.clear()
        generator.t_stop, generator.denoise_at_stop = 0.5, denoise
        generator.sample(4, RunContext())
        assert full == 40 and len(calls) == 20
    with pytest.raises(UserError, match="t_stop"):
        trained("diffusion", threes, train_steps=1, t_stop=1.0)


def test_unknown_sampler_for_an_sde_is_refused(threes):
    with pytest.raises(UserError, match="ve.*pc"):
        trained("diffusion", threes, sde="ve", sampler="ddim", train_steps=1)
    from bench.generators.diffusion import ScoreDiffusion

    with pytest.raises(ValueError, match="ve.*pc"):  # built directly, it is checked when it fits
        ScoreDiffusion(sde="ve", sampler="ddim", train_steps=1).fit(threes, RunContext())


def test_bank_is_cached_reused_and_reproducible_from_its_seed(threes, tmp_path, monkeypatch):
    ctx = RunContext(cache_dir=tmp_path)
    fits = []
    cls = generators.get("dcgan").factory
    original_fit = cls.fit
    monkeypatch.setattr(cls, "fit", lambda self, *a: fits.append(1) or original_fit(self, *a))
    request = BankRequest("dcgan", generator_params("dcgan", "smoke", {"train_steps": 30}), n=50, seed=0)

    first, path = fake_bank(threes, request, ctx)
    again, same_path = fake_bank(threes, request, ctx)
    assert len(fits) == 1 and same_path == path  # reused, not retrained
    np.testing.assert_array_equal(first, again)
    assert first.shape == (50, 8, 8, 3) and first.dtype == np.uint8
    assert "dcgan" in path.name and "s0" in path.name and path.parent.name == "test_threes"
    assert Image.open(path.with_suffix(".png")).size[0] >= 16 * 9
    made = json.loads(path.with_suffix(".json").read_text())
    assert made["generator"] == "dcgan" and made["seed"] == 0 and len(made["loss_history"]) == 30

    path.unlink()  # rebuilt from the seed alone: the same fakes
    np.testing.assert_array_equal(fake_bank(threes, request, ctx)[0], first)

    other_seed = BankRequest("dcgan", request.params, n=50, seed=1)
    other_stream = BankRequest("dcgan", request.params, n=50, seed=0, stream="benchmark")
    for other in (other_seed, other_stream):
        bank, other_path = fake_bank(threes, other, ctx)
        assert other_path != path and not np.array_equal(bank, first)


def test_bank_of_an_unkeyed_image_set_is_not_cached(tmp_path):
    from bench.images import ImageSet

    images, labels = digit_images()

    class Unkeyed(ImageSet):  # a plug-in's own set that cannot tell its content
        def __len__(self):
            return 20

        def __getitem__(self, index):
            return Image.fromarray(images[labels == 1][index])

    unkeyed = Unkeyed()
    request = BankRequest("dcgan", generator_params("dcgan", "smoke", {"train_steps": 2}), n=5, seed=0)
    bank, path = fake_bank(unkeyed, request, RunContext(cache_dir=tmp_path))
    assert path is None and bank.shape == (5, 8, 8, 3) and not (tmp_path / "fakes").exists()


def test_bench_fakes_builds_then_reuses(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    argv = ["fakes", "--dataset", "digits", "--class", "5", "--generator", "dcgan", "--n", "12",
            "--set", "train_steps=20", "--device", "cpu", "--quiet"]
    status, out, _ = run_cli(*argv)
    assert status == 0, out
    bank_file = out.split("→ ")[1].split()[0]
    bank = np.load(bank_file)
    assert bank.shape == (12, 8, 8, 3) and "grid:" in out
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "fakes").rglob("*")}
    status, again, _ = run_cli(*argv)
    assert status == 0 and again == out
    # reused: no file added, none rewritten
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "fakes").rglob("*")} == written


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--generator", "wgan"], "did you mean 'wgan-gp'"),
        (["--generator", "dcgan", "--set", "depth=3"], "has no parameter depth"),
        (["--generator", "dcgan", "--profile", "fast"], "no profile 'fast'"),
        (["--generator", "dcgan", "--class", "11"], "not a class of digits"),
        (["--generator", "dcgan", "--dataset", "cifar10"], "bench data fetch cifar10"),
    ],
)
def test_bench_fakes_refuses_bad_input_in_one_line(tmp_path, monkeypatch, argv, message):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "data"))
    base = {"--dataset": "digits", "--class": "3"}
    for flag, value in zip(argv[::2], argv[1::2]):
        base[flag] = value
    status, out, err = run_cli("fakes", *[x for pair in base.items() for x in pair], "--device", "cpu")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "fakes").exists()
