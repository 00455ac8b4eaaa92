"""Pieces every trained method needs: which parameters train, and an epoch loop that
checkpoints itself.

When the run context has a `checkpoint_dir` (the runner gives each cell its own), `run_epochs`
saves the state of everything that moves — model, optimiser, scheduler, the loader's
shuffling generator and the global random generators — after an epoch once
`ctx.checkpoint_interval_s` have passed since the last save, and after the last epoch; called
again, it resumes after the last saved epoch. A cell requeued after a timeout loses at most
that interval of training, and on a CPU ends exactly where an uninterrupted run would.
"""

from __future__ import annotations

import copy
import random
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from bench.atomic import atomic_write
from bench.context import RunContext
from bench.notices import discarded


def train_only(model, trainable: Iterable[str] | None) -> list:
    """Freeze every parameter except those under the named child modules (None: all train).

    Returns the trainable parameters, for the optimiser.
    """
    names = None if trainable is None else tuple(trainable)
    if names is not None:
        unknown = [n for n in names if not hasattr(model, n)]
        if unknown:
            raise ValueError(f"{type(model).__name__} has no module {', '.join(unknown)}")
    parameters = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad = names is None or name.split(".")[0] in names
        if parameter.requires_grad:
            parameters.append(parameter)
    return parameters


class Checkpoint:
    """One training phase's resumable state in `<checkpoint_dir>/<name>.pt`.

    Everything is saved as tensors, numbers, strings, lists and dicts — the random states of
    numpy and Python too — so the file loads with `torch.load(weights_only=True)`: a planted
    pickle cannot run code. A file that does not load, or does not fit the objects it should
    restore, is discarded with a notice and training starts over; nothing half-restored stays.
    """

    def __init__(self, directory: Path, name: str, state: Mapping[str, object]):
        self.path = Path(directory) / f"{name}.pt"
        self.state = state  # name -> object with state_dict() / load_state_dict()

    def load(self) -> tuple[int, list[float]]:
        """Restore everything saved; return (epochs done, loss history). (0, []) if none, or
        if the file is damaged (then it is deleted)."""
        import torch

        if not self.path.exists():
            return 0, []
        before = {name: copy.deepcopy(target.state_dict()) for name, target in self.state.items()}
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
            epoch, history = int(saved["epoch"]), list(saved["history"])  # floats, or [float, ...] per step
            if set(saved["state"]) != set(self.state):
                raise ValueError(f"it holds {sorted(saved['state'])}, expected {sorted(self.state)}")
            for name, target in self.state.items():
                target.load_state_dict(saved["state"][name])
            rng = saved["rng"]
            set_random_states(rng)
        except Exception as error:  # damaged, foreign or planted: start over, never half-restored
            for name, target in self.state.items():
                target.load_state_dict(before[name])
            self.path.unlink(missing_ok=True)
            discarded(self.path, f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}")
            return 0, []
        return epoch, history

    def save(self, epoch: int, history: list[float]) -> None:
        import torch

        payload = {
            "epoch": epoch,
            "history": list(history),
            "state": {name: target.state_dict() for name, target in self.state.items()},
            "rng": random_states(),
        }
        with atomic_write(self.path) as handle:
            torch.save(payload, handle)


def random_states() -> dict:
    """The global random states of torch, CUDA, numpy and Python as tensors and numbers
    (what `torch.load(weights_only=True)` reads back)."""
    import torch

    _, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    version, python_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "python": {"version": int(version), "state": torch.tensor(python_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }


def set_random_states(states: Mapping) -> None:
    """Restore what `random_states` saved."""
    import torch

    numpy, python = states["numpy"], states["python"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    if keys.shape != (624,):
        raise ValueError(f"numpy's random state has {keys.shape} keys, expected (624,)")
    python_state = tuple(int(x) for x in python["state"].tolist())
    np_state = ("MT19937", keys, int(numpy["pos"]), int(numpy["has_gauss"]), float(numpy["cached_gaussian"]))
    torch.set_rng_state(states["torch"])
    np.random.set_state(np_state)
    random.setstate((int(python["version"]), python_state, python["gauss_next"]))
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class _GeneratorState:
    """state_dict view of a torch.Generator (the loader's shuffling order)."""

    def __init__(self, generator):
        self.generator = generator

    def state_dict(self):
        return self.generator.get_state()

    def load_state_dict(self, state):
        self.generator.set_state(state)


def run_epochs(
    loader,
    step: Callable[[object], "object"],
    optimizer,
    epochs: int,
    ctx: RunContext,
    *,
    model=None,
    clip_norm: float | None = None,
    parameters: list | None = None,
    scheduler=None,
    scheduler_per_batch: bool = False,
    name: str = "training",
    desc: str = "epochs",
) -> list[float]:
    """Minimise `step(batch) -> loss` over `epochs` and return the mean loss of each epoch.

    `scheduler` steps after each epoch (after each batch with `scheduler_per_batch`).
    With `ctx.checkpoint_dir`, the phase `name` checkpoints after every epoch and resumes.
    """
    import torch

    checkpoint = None
    if ctx.checkpoint_dir is not None:
        state = {"optimizer": optimizer}
        if model is not None:
            state["model"] = model
        if scheduler is not None:
            state["scheduler"] = scheduler
        if getattr(loader, "generator", None) is not None:
            state["loader"] = _GeneratorState(loader.generator)
        checkpoint = Checkpoint(ctx.checkpoint_dir, name, state)
    start, history = checkpoint.load() if checkpoint else (0, [])
    last_save = time.monotonic()

    for epoch in ctx.progress(range(start, epochs), total=epochs - start, desc=desc):
        total, count = 0.0, 0  # the sum stays on the device: no synchronisation per step
        for batch in loader:
            loss = step(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(parameters, clip_norm)
            optimizer.step()
            if scheduler is not None and scheduler_per_batch:
                scheduler.step()
            total = total + loss.detach() * _batch_size(batch)
            count += _batch_size(batch)
        history.append(float(total) / max(count, 1))
        if scheduler is not None and not scheduler_per_batch:
            scheduler.step()
        due = time.monotonic() - last_save >= ctx.checkpoint_interval_s or epoch + 1 == epochs
        if checkpoint and due:
            checkpoint.save(epoch + 1, history)
            last_save = time.monotonic()
    return history


def _batch_size(batch) -> int:
    return len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)


def run_steps(
    step: Callable[[], "object"],
    steps: int,
    ctx: RunContext,
    *,
    state: Mapping[str, object],
    name: str,
    desc: str,
) -> list[float]:
    """Call `step()` — one update, returning its loss as a tensor — `steps` times and return
    the losses. The step-counted twin of `run_epochs` for trainers that draw their own batches
    (the fake generators): with `ctx.checkpoint_dir`, everything in `state` (objects with
    `state_dict`/`load_state_dict`) and the global random generators are saved at most every
    `ctx.checkpoint_interval_s` and after the last step, and a second call resumes after the
    last saved step, ending exactly where an uninterrupted run would on a CPU."""
    import torch

    checkpoint = Checkpoint(ctx.checkpoint_dir, name, state) if ctx.checkpoint_dir is not None else None
    start, history = checkpoint.load() if checkpoint else (0, [])
    losses = []
    last_save = time.monotonic()
    for index in ctx.progress(range(start, steps), total=steps - start, desc=desc):
        losses.append(step().detach())  # kept on the device: no synchronisation per step
        due = time.monotonic() - last_save >= ctx.checkpoint_interval_s or index + 1 == steps
        if checkpoint and due:
            history += torch.stack(losses).cpu().tolist()
            losses = []
            checkpoint.save(index + 1, history)
            last_save = time.monotonic()
    return history + (torch.stack(losses).cpu().tolist() if losses else [])
