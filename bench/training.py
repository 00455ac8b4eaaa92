"""Pieces every fine-tuning method needs: which parameters train, and an epoch loop."""

from __future__ import annotations

from typing import Callable, Iterable

from bench.detector import RunContext


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


def run_epochs(
    loader,
    step: Callable[[object], "object"],
    optimizer,
    epochs: int,
    ctx: RunContext,
    *,
    clip_norm: float | None = None,
    parameters: list | None = None,
    scheduler=None,
    desc: str = "epochs",
) -> list[float]:
    """Minimise `step(batch) -> loss` over `epochs` (stepping `scheduler` after each epoch);
    return the mean loss of each epoch."""
    import torch

    history = []
    for _ in ctx.progress(range(epochs), total=epochs, desc=desc):
        total, count = 0.0, 0
        for batch in loader:
            loss = step(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(parameters, clip_norm)
            optimizer.step()
            total += float(loss.detach()) * _batch_size(batch)
            count += _batch_size(batch)
        history.append(total / max(count, 1))
        if scheduler is not None:
            scheduler.step()
    return history


def _batch_size(batch) -> int:
    return len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)
