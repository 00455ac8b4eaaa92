"""Progress bars (tqdm) for long loops: the sweep's cells, and the steps inside a cell."""

from __future__ import annotations

from typing import Iterable


def progress_bar(iterable: Iterable, total: int | None = None, desc: str | None = None, *, position: int = 0) -> Iterable:
    """A bar over `iterable` that disappears when done; `position` 1 sits under the sweep's bar."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, position=position, dynamic_ncols=True)


def inner_progress(iterable: Iterable, total: int | None = None, desc: str | None = None) -> Iterable:
    """The bar of a step inside a cell, one line under the sweep's cell bar."""
    return progress_bar(iterable, total=total, desc=desc, position=1)
