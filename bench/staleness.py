"""Stale records: results made from data or code that are not today's.

A successful record is **stale** when the fingerprint of its split's data differs from the one
its dataset gives today (`Benchmark.fingerprint`: an image replaced, edited, added or removed),
or when the identity of its code differs from today's (`bench.code_identity`: the method's
modules, the fake generators it trains on, the evaluation code, a plug-in's distribution
version). Records made before records carried both are stale too: nothing says what made them.
`bench run` runs stale cells again (unless `--keep-stale`); `bench table` marks them.

A record that cannot be checked here — its method or dataset is not installed, its data is
not under this data root — is *unchecked*, never called stale or current.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from bench.cell import Cell
from bench.context import RunContext, no_progress
from bench.records import OK


@dataclass
class Verdicts:
    """Cell key → why its record is stale; cell key → why it could not be checked."""

    stale: dict[str, list[str]] = field(default_factory=dict)
    unchecked: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def _counted(reasons: Iterable[str], shown: int) -> str:
        counts = Counter(reasons).most_common()
        text = "; ".join(f"{reason} ({count})" for reason, count in counts[:shown])
        return text + (f"; {len(counts) - shown} other reason(s)" if len(counts) > shown else "")

    def stale_summary(self, shown: int = 4) -> str:
        """The reasons, each with how many records it applies to: `code of dn2 changed
        (bench.knn) (10); data of mvtec class bottle changed (2)`."""
        return self._counted((r for reasons in self.stale.values() for r in reasons), shown)

    def unchecked_summary(self, shown: int = 3) -> str:
        return self._counted(self.unchecked.values(), shown)


class _Today:
    """Today's code identities and data fingerprints, each computed once."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self._code: dict = {}
        self._data: dict = {}

    def code(self, cell: Cell) -> dict:
        from bench.code_identity import code_identity

        key = (cell.method, cell.method_hash)
        if key not in self._code:
            self._code[key] = code_identity(cell.method, cell.method_params)
        return self._code[key]

    def data(self, cell: Cell) -> str | None:
        from bench import registry

        key = (cell.dataset, cell.dataset_hash, cell.normal_class, cell.seed)
        if key not in self._data:
            ctx = replace(self.ctx, seed=cell.seed, profile=cell.profile, normal_class=cell.normal_class)
            try:
                benchmark = registry.datasets.get(cell.dataset).factory(**cell.dataset_params)
                self._data[key] = benchmark.fingerprint(cell.normal_class, ctx)
            except Exception as error:  # missing or unreadable data: the record cannot be checked here
                self._data[key] = error
        return self._data[key]

    def splits(self, cells: Iterable[Cell]) -> int:
        return len({(c.dataset, c.dataset_hash, c.normal_class, c.seed) for c in cells})


def _unknown(cell: Cell) -> str | None:
    from bench import registry

    if cell.method not in registry.methods:
        return f"method {cell.method} is not installed"
    if cell.dataset not in registry.datasets:
        return f"dataset {cell.dataset} is not installed"
    return None


def check_records(
    records: Iterable[dict],
    *,
    data_root: Path,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Callable = no_progress,
) -> Verdicts:
    """Which successful `records` are stale, and why (failed records are not checked).

    Today's fingerprints are made under `data_root` with the caches under `cache_dir`, each
    split once (records of one split share it); `progress` wraps the loop over the records."""
    today = _Today(RunContext(data_root=Path(data_root), cache_dir=cache_dir, use_cache=use_cache))
    verdicts = Verdicts()
    ok = [(Cell.from_dict(r["cell"]), r) for r in records if r.get("status") == OK]
    checkable = []
    for cell, record in ok:
        why = _unknown(cell)
        if why:
            verdicts.unchecked[cell.key] = why
        else:
            checkable.append((cell, record))
    by_split = sorted(checkable, key=lambda pair: (pair[0].dataset, pair[0].normal_class, pair[0].seed))
    for cell, record in progress(by_split, total=len(by_split), desc="checking records"):
        if "data" not in record or "code" not in record:
            verdicts.stale[cell.key] = ["made before records named their data and code"]
            continue
        from bench.code_identity import differences

        reasons = differences(record["code"], today.code(cell), cell.method)
        fingerprint = today.data(cell)
        if isinstance(fingerprint, Exception):
            verdicts.unchecked[cell.key] = (f"data of {cell.dataset} not readable here "
                                            f"({type(fingerprint).__name__}: {fingerprint})")
            continue
        recorded = record["data"].get("fingerprint")
        if recorded != fingerprint:
            name = cell.class_name or cell.normal_class
            reasons.append(f"data of {cell.dataset} class {name} changed")
        if reasons:
            verdicts.stale[cell.key] = reasons
    return verdicts
