"""Training checkpoints: exact resume whatever the loader workers, nothing unpickled, and a
damaged checkpoint discarded and trained again."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import registry
from bench.context import RunContext
from bench.seeding import seed_everything
from bench.training import Checkpoint, random_states, set_random_states


class Interrupt(Exception):
    pass


def interrupt_after(epochs_done: int, desc: str):
    """A progress reporter that raises `Interrupt` when the epoch loop `desc` reaches
    `epochs_done` finished epochs (as a killed process would stop there)."""

    def progress(iterable, total=None, desc_=None, **_):
        if desc_ != desc:
            return iterable

        def epochs():
            for count, item in enumerate(iterable):
                if count == epochs_done:
                    raise Interrupt
                yield item

        return epochs()

    return lambda iterable, total=None, desc=None: progress(iterable, total, desc)


@pytest.fixture(scope="module")
def digits_split():
    return registry.datasets.get("digits").factory().split(1, RunContext())


def fitymi(**params):
    cls = registry.methods.get("fitymi").factory
    quick = {"train_steps": 5, "sampling_steps": 5}  # the fakes' quality is not what is tested
    return cls(**{**cls.profiles["smoke"], "epochs": 3, "generator_params": quick, **params})


def test_a_resumed_cell_with_two_loader_workers_matches_an_uninterrupted_one(digits_split, tmp_path):
    """FITYMI augments in the loader processes (random crop and flip): the resumed run must
    draw the augmentations the uninterrupted one drew."""
    common = dict(seed=0, normal_class=1, cache_dir=tmp_path / "cache", loader_workers=2, checkpoint_interval_s=0)
    train = digits_split.train.subset(range(32), name="digits/resume-test/train")
    seed_everything(0)
    uninterrupted = fitymi().fit(train, RunContext(**common, checkpoint_dir=tmp_path / "a"))

    seed_everything(0)
    with pytest.raises(Interrupt):
        fitymi().fit(train, RunContext(**common, checkpoint_dir=tmp_path / "b",
                                       progress=interrupt_after(1, "FITYMI epochs")))
    assert torch.load(tmp_path / "b" / "fitymi.pt", weights_only=True)["epoch"] == 1

    seed_everything(0)  # a requeued cell starts from its seed again
    resumed = fitymi().fit(train, RunContext(**common, checkpoint_dir=tmp_path / "b"))
    assert len(resumed.loss_history_) == 3 and resumed.loss_history_ == uninterrupted.loss_history_
    for (name, a), b in zip(uninterrupted.network_.state_dict().items(), resumed.network_.state_dict().values()):
        assert torch.equal(a, b), name
    test = digits_split.test.subset(range(0, len(digits_split.test), 20))
    ctx = RunContext(seed=0, normal_class=1)
    assert np.array_equal(uninterrupted.score(test, ctx), resumed.score(test, ctx))


class Planted:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_pickle_in_a_checkpoint_never_runs_and_training_starts_over(tmp_path, capsys):
    marker = tmp_path / "pwned"
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    checkpoint = Checkpoint(tmp_path, "panda", {"model": model, "optimizer": optimizer})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save({"epoch": 3, "history": [1.0], "state": {}, "rng": Planted(marker)}, checkpoint.path)
    assert checkpoint.load() == (0, [])
    assert not marker.exists()  # the pickle's code did not run
    assert not checkpoint.path.exists()  # discarded
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"discarded the damaged cache entry {checkpoint.path}" in err


@pytest.mark.parametrize("damage", ["empty", "truncated", "foreign", "wrong shape"])
def test_a_damaged_checkpoint_is_discarded_and_nothing_half_restored(tmp_path, damage, capsys):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    checkpoint = Checkpoint(tmp_path, "training", {"model": model, "optimizer": optimizer})
    checkpoint.save(2, [0.5, 0.25])
    good = checkpoint.path.read_bytes()
    if damage == "empty":
        checkpoint.path.write_bytes(b"")
    elif damage == "truncated":
        checkpoint.path.write_bytes(good[: len(good) // 2])
    elif damage == "foreign":
        torch.save({"weights": torch.zeros(3)}, checkpoint.path)
    else:  # the model of another architecture: its weights do not fit
        other = torch.nn.Linear(4, 2)
        Checkpoint(tmp_path, "training", {"model": other, "optimizer": torch.optim.SGD(other.parameters(), lr=0.1)}).save(1, [0.1])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert checkpoint.load() == (0, [])
    assert not checkpoint.path.exists()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert "discarded the damaged cache entry" in capsys.readouterr().err


def test_random_states_round_trip_through_a_weights_only_file(tmp_path):
    import random

    seed_everything(7)
    path = tmp_path / "states.pt"
    torch.save(random_states(), path)
    expected = (torch.rand(3), np.random.rand(3), random.random(), np.random.randn())
    seed_everything(99)
    set_random_states(torch.load(path, weights_only=True))
    assert torch.equal(torch.rand(3), expected[0]) and np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2] and np.random.randn() == expected[3]
