"""The Python API, for notebooks: `bench.run`, `bench.leaderboard`, `bench.records`.

It takes Python values where the command line takes strings and runs the same plan, checks
and executors; a mistake raises `bench.errors.UserError` (the command line's exit status 2)
with the same message. Notices (skipped datasets, stale records) go to stderr as `bench run`
prints them.

    import bench
    df = bench.run(methods="dn2,pyod-knn", datasets="digits", classes=[0, 1], seeds=[0])
    bench.leaderboard(df)        # the leaderboard as a DataFrame (percent)
    bench.records("results")     # every record under a results root, one tidy row per metric
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from bench.errors import UserError

if TYPE_CHECKING:
    import pandas as pd


def _expect(value, types: tuple, what: str, expected: str) -> None:
    """UserError naming `what` when `value` is not one of `types` (a bool is no int)."""
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise UserError(f"{what} must be {expected}, got {type(value).__name__} {value!r}")


def _spec(value: str | Iterable[str], what: str) -> str:
    """A SPEC string from a string or a list of names, globs and groups."""
    _expect(value, (str, list, tuple), what, "a SPEC string or a list of names")
    if isinstance(value, str):
        return value
    items = [str(item) for item in value]
    if not items:
        raise UserError(f"{what} is empty: give names, globs or groups")
    return ",".join(items)


def _items(value, what: str) -> str:
    """`all`, an int, a name, or a list of them, as the command line's comma list."""
    _expect(value, (str, int, list, tuple, range), what, "an int, a name, or a list of them")
    if isinstance(value, (str, int)):
        return str(value)
    items = [str(item) for item in value]
    if not items:
        raise UserError(f"{what} is empty")
    return ",".join(items)


def _overrides(params: Mapping[str, Any] | None) -> list[str]:
    """`{"dn2.k": 5}` or `{"dn2": {"k": 5}}` as `--set` values (JSON-encoded)."""
    _expect(params if params is not None else {}, (Mapping,), "params", 'a dict such as {"dn2.k": 5}')
    overrides = []
    for target, value in (params or {}).items():
        if isinstance(value, Mapping) and "." not in target:
            overrides += [f"{target}.{name}={json.dumps(v)}" for name, v in value.items()]
        else:
            overrides.append(f"{target}={json.dumps(value)}")
    return overrides


def run(
    methods: str | Iterable[str] = "all",
    datasets: str | Iterable[str] = "digits",
    *,
    classes: str | int | Iterable[int | str] = "all",
    seeds: int | Iterable[int] = (0,),
    profile: str = "smoke",
    params: Mapping[str, Any] | None = None,
    results: str | None = None,
    data_root: str | None = None,
    device: str = "auto",
    executor: str = "inline",
    workers: int | None = None,
    loader_workers: int | None = None,
    cache: bool = True,
    rerun: bool = False,
    keep_stale: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Run a sweep as `bench run` does and return the records of its cells (those just run and
    those already done), one tidy row per metric (see `records`).

    `methods`, `datasets`: a SPEC (`"dn2,pyod-*"`, `"all,-csi"`) or a list of names;
    `classes`: `"all"`, an index or name, or a list of them; `seeds`: an int or a list;
    `params`: hyper-parameters, `{"dn2.k": 5}` or `{"dn2": {"k": 5}}` (`--set`); `cache`:
    False is `--no-cache`. Raises UserError for any mistake, before anything runs; a cell that
    fails is a failed record (left out of the frame) and a RuntimeError once the sweep ends.
    With `executor="slurm"` the call returns once the cells are queued, with the records that
    exist. The default executor is `inline`; `local` starts worker processes that import the
    calling script again, so a script using it needs the `if __name__ == "__main__":` guard.
    """
    from bench.cli import build_parser
    from bench.cli.run import execute

    for value, what in ((results, "results"), (data_root, "data_root")):
        _expect(value, (str, os.PathLike, type(None)), what, "a path or None")
    for value, what in ((workers, "workers"), (loader_workers, "loader_workers")):
        _expect(value, (int, type(None)), what, "an int or None")
    for value, what in ((cache, "cache"), (rerun, "rerun"), (keep_stale, "keep_stale"), (progress, "progress")):
        _expect(value, (bool,), what, "True or False")
    args = build_parser().parse_args(["run"])
    args.methods, args.datasets = _spec(methods, "methods"), _spec(datasets, "datasets")
    args.classes, args.seeds = _items(classes, "classes"), _items(seeds, "seeds")
    args.profile, args.overrides = profile, _overrides(params)
    args.results, args.data_root, args.device = results, data_root, device
    args.executor, args.workers, args.loader_workers = executor, workers, loader_workers
    args.no_cache, args.rerun, args.keep_stale, args.quiet = not cache, rerun, keep_stale, not progress
    args.argv = ["run", "(python api)"]
    planned, summary = execute(args, out=sys.stderr)
    keys = {cell.key for cell in planned.plan.cells}
    frame = records(planned.store.root, keys=keys)
    if summary is not None and summary.failed:
        failed = ", ".join(r["cell"]["key"] for r in summary.failed[:3])
        raise RuntimeError(f"{len(summary.failed)} cell(s) failed (their records say why): {failed}")
    return frame


def records(results: str | None = None, *, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """Every successful record under the results root `results` (default: `$BENCH_RESULTS` or
    ./results), one tidy row per (cell, metric) — `auroc`, `aupr`, `fpr95_anomaly_positive`,
    `fpr95_normal_positive`, `auroc_worst`,
    `auroc_classmean`, `headline`, and one `auroc_per_class` row per anomaly class — with the
    cell's identity (method, profile, method_hash, dataset, dataset_hash, normal_class,
    class_name, seed, key), `value` as a fraction, `via` (the metric a `headline` row stands
    for) and, for AUROC, the bootstrap interval (`ci_low`, `ci_high`). Files that are not
    readable records are named in a warning; `keys` keeps only those cells."""
    from bench import paths
    from bench.store import Store
    from bench.table import long_frame

    scan = Store(paths.results_dir(results)).scan()
    if scan.unusable:
        warnings.warn(scan.warning(), stacklevel=2)
    chosen = scan.records if keys is None else [r for r in scan.records if r["cell"]["key"] in set(keys)]
    return long_frame(chosen)


def leaderboard(frame: pd.DataFrame, metric: str = "headline", *, per_class: bool = False) -> pd.DataFrame:
    """The leaderboard of `frame` (from `records` or `run`) as numbers: one row per method
    configuration (index `method`), and per dataset (or dataset:class) column its `mean` and
    `std` over seeds in percent, `pairs` covered and `complete`; then `mean` over columns and
    `rank` (1 = best, over the columns every row has). UserError for an unknown metric."""
    import pandas as pd

    from bench.metrics import METRICS
    from bench.table import leaderboard as board_of

    if metric not in METRICS:
        raise UserError(f"metric {metric!r}: use one of {', '.join(METRICS)}")
    board = board_of(frame, metric, by_class=per_class)
    if board.empty:
        return pd.DataFrame()
    columns = {}
    for column in board.columns:
        entries = board.tidy[board.tidy.column == column].set_index("method").reindex(board.values.index)
        columns[(column, "mean")] = 100 * entries["mean"]
        columns[(column, "std")] = 100 * entries["std"]
        columns[(column, "pairs")] = entries["pairs"]
        columns[(column, "complete")] = entries["complete"]
    columns[("mean", "")] = 100 * board.values[("mean", "mean")]
    columns[("rank", "")] = board.values[("rank", "mean")]
    table = pd.DataFrame(columns, index=board.values.index)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["column", "statistic"])
    return table
