"""CSI: shifted instances, the score's normalisation, resuming, and that it learns."""

import math

import numpy as np
import pytest
import torch

from bench import registry
from bench.context import RunContext, no_progress
from bench.methods.csi import ROTATIONS, csi_scores, rotations, warmup_cosine
from bench.plan import make_plan
from bench.settings import RunSettings
from bench.worker import CellWorker
from bench.seeding import seed_everything

CSI = registry.methods.get("csi").factory
SMOKE = CSI.profiles["smoke"]


@pytest.fixture(scope="module")
def split():
    return registry.datasets.get("digits").factory().split(0, RunContext())


def test_rotations_make_four_distinct_instances_per_image():
    images = torch.rand(3, 3, 8, 8)
    shifted = rotations(images)
    assert shifted.shape == (12, 3, 8, 8)
    for k in range(ROTATIONS):
        for i in range(3):
            assert torch.equal(shifted[k * 3 + i], torch.rot90(images[i], k, (1, 2)))
    for i in range(3):
        versions = [shifted[k * 3 + i] for k in range(ROTATIONS)]
        assert all(not torch.equal(a, b) for n, a in enumerate(versions) for b in versions[n + 1:])


def test_shifted_batch_pairs_same_image_and_rotation_across_copies():
    detector = CSI(**SMOKE)
    images = torch.rand(5, 3, 8, 8)
    seed_everything(0)
    samples, labels = detector.shifted_batch(images, augment=lambda x: x)  # no colour/crop noise
    assert samples.shape == (8 * 5, 3, 8, 8)
    assert labels.tolist() == [k for k in range(4) for _ in range(5)] * 2
    first, second = samples.chunk(2)
    for row in range(20):  # positives: the same image and rotation, each copy flipped or not
        a, b = first[row], second[row]
        assert torch.equal(a, b) or torch.equal(a, b.flip(2)) or torch.equal(a, b.flip(1))


def test_score_terms_are_normalised_by_their_training_means():
    rng = torch.Generator().manual_seed(0)
    z_train, logits_train = torch.randn(4, 3, 5, generator=rng), torch.rand(4, 3, 4, generator=rng) + 0.5
    z_test, logits_test = torch.randn(4, 2, 5, generator=rng), torch.rand(4, 2, 4, generator=rng)
    expected = np.zeros(2)
    for x in range(2):
        total = 0.0
        for k in range(4):
            norms = [float(z_train[k, m].norm()) for m in range(3)]
            cosines = [float(z_test[k, x] @ z_train[k, m]) / norms[m] for m in range(3)]
            total += max(cosines) / np.mean(norms)
            total += float(logits_test[k, x, k]) / float(logits_train[k, :, k].mean())
        expected[x] = total / 4
    np.testing.assert_allclose(csi_scores(z_train, logits_train, z_test, logits_test), expected, rtol=1e-5)


def test_handcrafted_score():
    # one training image, every rotation: z = (2, 0) (norm 2), logit of its own rotation 4
    z_train = torch.tensor([[[2.0, 0.0]]]).repeat(4, 1, 1)
    logits_train = (torch.eye(4) * 4.0).view(4, 1, 4)
    z_test = torch.tensor([[[1.0, 1.0]]]).repeat(4, 1, 1)  # cosine-weighted: <(1,1),(1,0)> = 1
    logits_test = (torch.eye(4) * 2.0).view(4, 1, 4)
    # per rotation: 1 · (1/2) + 2 · (1/4) = 1; the mean over 4 rotations is 1
    assert csi_scores(z_train, logits_train, z_test, logits_test) == pytest.approx([1.0])


def test_warmup_then_cosine_schedule():
    factor = warmup_cosine(epochs=10, warmup=2, multiplier=10.0, steps_per_epoch=5)
    assert factor(0) == 1.0
    assert factor(5) == pytest.approx(5.5)  # halfway through the warm-up
    assert factor(10) == pytest.approx(10.0)
    assert factor(50) == pytest.approx(10.0 * 0.5 * (1 + math.cos(math.pi * 8 / 10)))


class Interrupt(Exception):
    pass


def interrupt_after(epochs_done: int):
    def progress(iterable, total=None, desc=None):
        if desc != "CSI epochs":
            return iterable

        def generator():
            for count, item in enumerate(iterable):
                if count == epochs_done:
                    raise Interrupt
                yield item

        return generator()

    return progress


def test_interrupted_training_resumes_and_matches_an_uninterrupted_run(split, tmp_path):
    params = {**SMOKE, "epochs": 4}
    seed_everything(0)
    uninterrupted = CSI(**params).fit(split.train, RunContext(seed=0, checkpoint_dir=tmp_path / "a"))

    seed_everything(0)
    with pytest.raises(Interrupt):
        interrupted = RunContext(seed=0, checkpoint_dir=tmp_path / "b", checkpoint_interval_s=0, progress=interrupt_after(2))
        CSI(**params).fit(split.train, interrupted)
    assert (tmp_path / "b" / "csi.pt").exists()
    assert torch.load(tmp_path / "b" / "csi.pt", weights_only=True)["epoch"] == 2

    seed_everything(0)  # a requeued cell starts from its seed again
    resumed = CSI(**params).fit(split.train, RunContext(seed=0, checkpoint_dir=tmp_path / "b", progress=no_progress))
    assert len(resumed.loss_history_) == 4
    assert resumed.loss_history_ == pytest.approx(uninterrupted.loss_history_)
    for (name, a), b in zip(uninterrupted.network_.state_dict().items(), resumed.network_.state_dict().values()):
        assert torch.allclose(a.float(), b.float()), name


def test_smoke_loss_falls_and_beats_chance(split, tmp_path):
    cell = make_plan("csi", "digits", classes="0").cells[0]
    record = CellWorker(tmp_path / "results", RunSettings(cache_dir=tmp_path))(cell)
    assert record["status"] == "ok", record.get("error")
    assert record["metrics"]["auroc"] > 0.75
    assert not (tmp_path / "checkpoints" / cell.key).exists()  # a finished cell leaves no checkpoint
    seed_everything(0)
    detector = CSI(**SMOKE).fit(split.train, RunContext(seed=0))
    assert detector.loss_history_[-1] < detector.loss_history_[0]
