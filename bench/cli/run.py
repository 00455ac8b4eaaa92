"""`bench run`: plan a sweep, check it, skip what is done, run the rest, record every cell.

One path for every executor: plan → the executor's `prepare` (its checks; nothing runs) →
`run_sweep` (submit, follow, summarise). `plan_run` computes, `main` renders.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from bench import paths, registry
from bench.cli import run_slurm

EXECUTORS = ("auto", "inline", "local", "slurm")
EPILOG = """\
SPEC is a comma list of names, globs and groups; a leading '-' removes: 'all,-csi', 'pyod-*'.
Groups: all, and those `bench list groups` shows (embedded: the data shipped with nearbench).

examples:
  bench run                                   every method on the embedded digits benchmark (smoke)
  bench run --methods 'fitymi*,dn2' --datasets near   the near-distribution sets (embedded ones need no data)
  bench run --methods dn2,pyod-knn --datasets digits --classes 0,3 --seeds 0,1,2
  bench run --methods dn2,panda --profile paper --device cuda   the published recipes, on a GPU
  bench run --methods dn2 --set dn2.k=5       change a hyper-parameter (a new record, never a reused one)
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a sweep of (method, dataset, class, seed) cells",
        description="Run every (method, dataset, normal class, seed) cell of a sweep and write one JSON\n"
        "record per cell. Everything is checked before the first cell runs; cells with a record\n"
        "are skipped, unless the record is stale (made from other data or code than today's).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--methods", default=registry.ALL, metavar="SPEC", help="methods to run (default: all)")
    parser.add_argument("--datasets", default="digits", metavar="SPEC",
                        help="datasets (default: digits; `embedded` adds the embedded near sets, `near` every near set)")
    parser.add_argument("--classes", default="all", help="normal classes: all, or indices/names like 0,3 (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--profile", default="smoke", help="hyper-parameter profile: smoke (CPU, seconds) or paper (the published recipe)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME.PARAM=VALUE",
                        help="override a method or dataset parameter; NAME may be a glob; VALUE is JSON or text (repeatable)")
    parser.add_argument("--results", help="results root (default: $BENCH_RESULTS or ./results)")
    parser.add_argument("--data-root", help="dataset root (default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto = cuda if available)")
    parser.add_argument("--loader-workers", type=int, default=None, metavar="N",
                        help="processes preparing image batches in each cell (default: 0 on a CPU, 8 on a GPU)")
    parser.add_argument("--executor", default="auto", choices=EXECUTORS,
                        help="inline: this process (for debugging); local: a pool of worker processes; "
                        "slurm: job arrays on a SLURM cluster (see below); "
                        "auto (default): local on a multi-core CPU with many cells (or with --workers), else inline")
    parser.add_argument("--workers", type=int, default=None, help="worker processes of --executor local (default: CPU count)")
    parser.add_argument("--rerun", action="store_true", help="run cells again even when a record exists")
    parser.add_argument("--keep-stale", action="store_true",
                        help="keep records made from other data or code than today's instead of running their cells "
                        "again (bench table marks them)")
    parser.add_argument("--dry-run", action="store_true", help="print the cells, marked done or pending, and run nothing")
    parser.add_argument("--strict", action="store_true", help="make missing data of datasets (and missing fake banks of methods) reached through a group an error")
    parser.add_argument("--no-cache", action="store_true", help="use no on-disk cache: backbone features, fake banks "
                        "and checkpoints are computed afresh and not kept")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    run_slurm.add_arguments(parser)
    parser.set_defaults(func=main)


@dataclass
class PlannedRun:
    """Everything `bench run` decided before running anything."""

    plan: object
    store: object
    done: set[str]
    pending: list
    notices: list[str] = field(default_factory=list)
    stale: dict = field(default_factory=dict)  # cell key → why its record is stale (it runs again)
    executor: object = None  # None when nothing is pending
    preparation: object = None
    settings: object = None


def _executor_name(args) -> str:
    from bench.errors import UserError

    name = "slurm" if args.cluster and args.executor == "auto" else args.executor
    slurm_only = run_slurm.given(args)
    if slurm_only and name != "slurm":
        raise UserError(f"{slurm_only[0]} applies to --executor slurm only: drop it, or add --executor slurm")
    if args.workers is not None and name in ("inline", "slurm"):  # refused even when nothing is pending
        raise UserError(f"--workers sizes the local executor's pool: drop it, or use --executor local (not {name})")
    return name


def check_places(args, data_root) -> None:
    """The results root, the cache (unless --no-cache) and the data root are folders this
    process can use — checked before anything runs or is written (UserError)."""
    from bench.places import check_folder

    check_folder(paths.results_dir(args.results), "the results root",
                 "pass --results DIR (or set BENCH_RESULTS) naming a folder you can write to")
    if not args.no_cache:
        check_folder(paths.cache_dir(), "the cache ($BENCH_CACHE)",
                     "set BENCH_CACHE to a folder you can write to, or run with --no-cache")
    check_folder(data_root, "the data root", "pass --data-root DIR (or set BENCH_DATA) naming a folder", writable=False)


def finished_cells(cells, store, args, data_root) -> tuple[set[str], dict[str, list[str]], list[str]]:
    """(keys of the cells whose successful record stands, stale key → reasons, notices).

    A record made from other data or code than today's is stale and its cell runs again,
    unless `--keep-stale`; records that cannot be checked here stand, with a notice."""
    from bench.context import no_progress
    from bench.progress import progress_bar
    from bench.staleness import check_records

    records = {cell.key: store.read(cell.key) for cell in cells}
    ok = {key: record for key, record in records.items() if record is not None and record.get("status") == "ok"}
    if args.keep_stale or not ok:
        return set(ok), {}, []
    verdicts = check_records(ok.values(), data_root=data_root, cache_dir=paths.cache_dir(), use_cache=not args.no_cache,
                             progress=no_progress if args.quiet else progress_bar)
    notices = []
    if verdicts.stale:
        notices.append(f"notice: {len(verdicts.stale)} finished cell(s) are stale and run again: "
                       f"{verdicts.stale_summary()} (--keep-stale keeps them)")
    if verdicts.unchecked:
        notices.append(f"notice: {len(verdicts.unchecked)} finished cell(s) could not be checked for staleness and are "
                       f"kept: {verdicts.unchecked_summary()}")
    return set(ok) - set(verdicts.stale), verdicts.stale, notices


def plan_run(args) -> PlannedRun:
    """Plan the sweep, find what is done, build and prepare the executor; UserError on any
    mistake, before anything runs or is written."""
    from bench.devices import check_device_name, resolve_device
    from bench.errors import UserError
    from bench.executors import choose_executor, make_executor
    from bench.plan import gpu_profile_notice, make_plan
    from bench.settings import RunSettings
    from bench.store import Store

    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.loader_workers is not None and args.loader_workers < 0:
        raise UserError("--loader-workers must be 0 or more")
    name = _executor_name(args)
    device = check_device_name(args.device)  # resolved (importing torch) only once cells are pending
    data_root = paths.data_root(args.data_root)
    plan = make_plan(
        args.methods, args.datasets, classes=args.classes, seeds=args.seeds, profile=args.profile,
        overrides=args.overrides, data_root=data_root, strict=args.strict,
    )
    check_places(args, data_root)
    notices = list(plan.notices)
    if plan.skipped:
        listing = "; ".join(f"{dataset} (`bench data fetch {dataset}`)" for dataset in plan.skipped)
        notices.append(f"notice: skipping datasets whose data is missing: {listing}")
    notices += [f"notice: skipping method {method}: it needs {lacking} (name it to make this an error)"
                for method, lacking in plan.skipped_methods.items()]
    store = Store(paths.results_dir(args.results))
    warning = store.scan().warning()
    notices += [warning] if warning else []
    done, stale = set(), {}
    if not args.rerun:
        done, stale, lines = finished_cells(plan.cells, store, args, data_root)
        notices += lines
    run = PlannedRun(plan, store, done, [cell for cell in plan.cells if cell.key not in done], notices, stale)
    if not run.pending:
        return run

    settings = RunSettings(device=device, loader_workers=args.loader_workers, data_root=data_root,
                           cache_dir=paths.cache_dir(), use_cache=not args.no_cache)
    if name == "slurm":  # the device is resolved on the nodes
        request = run_slurm.request_from(args, plan_keys=[c.key for c in plan.cells], results_root=store.root,
                                         device=device, stale=frozenset(stale))
        run.settings = RunSettings(device=device, loader_workers=args.loader_workers, data_root=data_root.resolve(),
                                   cache_dir=settings.cache_dir.resolve(), use_cache=settings.use_cache)
        run.executor = make_executor("slurm", slurm=request)
        on_cpu = not request.options.asks_for_gpus()
    else:
        device = resolve_device(device)  # a GPU asked for must be here, before anything runs or is written
        name = choose_executor(name, cells=len(run.pending), device=device, workers=args.workers)
        run.settings = RunSettings(device=device, loader_workers=args.loader_workers, data_root=data_root,
                                   cache_dir=settings.cache_dir, use_cache=settings.use_cache,
                                   show_progress=not args.quiet and name == "inline")
        run.executor = make_executor(name, workers=args.workers)
        on_cpu = device == "cpu"
    notice = gpu_profile_notice(run.pending) if on_cpu else None
    run.notices += [notice] if notice else []
    run.preparation = run.executor.prepare(run.pending)
    run.notices += [f"notice: {line}" for line in run.preparation.notices]
    return run


def resolved_parameters(cells) -> list[str]:
    """One line per configuration of the cells: a method on a dataset with every resolved
    parameter (profile variants and values that follow the dataset applied), then each
    dataset's parameters — what the records will hold."""
    from bench.digest import canonical_json

    lines = ["resolved parameters:"]
    methods = {(c.method, c.dataset, c.profile, c.method_hash): c.method_params for c in cells}
    for (method, dataset, profile, config), params in methods.items():
        lines.append(f"  {method} on {dataset} ({profile}, {config}): {canonical_json(params)}")
    datasets = {(c.dataset, c.dataset_hash): c.dataset_params for c in cells}
    for (dataset, config), params in datasets.items():
        lines.append(f"  dataset {dataset} ({config}): {canonical_json(params)}")
    return lines



def execute(args, out=None):
    """Plan, then run (or with `--dry-run` only list) the sweep; notices and listings go to
    stderr, the outcome's lines to `out`. Returns (the planned run, its Summary — None when
    nothing ran). KeyboardInterrupt passes through."""
    from bench.executors.drive import Summary, run_sweep

    out = out or sys.stdout
    run = plan_run(args)
    for notice in run.notices:
        print(notice, file=sys.stderr)
    if args.dry_run:
        for cell in run.plan.cells:
            print(f"{'done   ' if cell.key in run.done else 'stale  ' if cell.key in run.stale else 'pending'}  {cell.key}",
                  file=out)
        print(f"{len(run.plan.cells)} cells: {len(run.done)} done, {len(run.pending)} pending", file=out)
        print("\n".join(resolved_parameters(run.plan.cells)), file=out)
        if run.preparation is not None:
            print(f"{run.executor.name}: would run {run.preparation.description}", file=out)
        return run, None
    if not run.pending:
        print(Summary(skipped=len(run.done)).line(run.store), file=out)
        return run, None
    if not run.preparation.cells:
        print(run.preparation.description, file=out)
        return run, None
    if run.executor.wait and not args.quiet:
        print(f"{run.executor.name}: {run.preparation.description}", file=sys.stderr)
    try:
        summary = run_sweep(run.preparation.cells, run.executor, run.store, run.settings,
                            skipped=len(run.done), progress=not args.quiet, rerun=args.rerun,
                            stale=frozenset(run.stale))
    except KeyboardInterrupt as interrupted:
        interrupted.explanation = run.executor.interrupted()  # what happens to the sweep's cells
        raise
    if summary.submitted:
        print(f"{run.executor.name}: submitted {run.preparation.description}", file=out)
        print("\n".join(summary.submitted), file=out)
    else:
        print(summary.line(run.store), file=out)
    return run, summary


def main(args) -> int:
    try:
        run, summary = execute(args)
    except KeyboardInterrupt as interrupted:
        explanation = getattr(interrupted, "explanation", "interrupted; finished cells keep their records")
        print(f"bench run: {explanation}", file=sys.stderr)
        return 130
    return 1 if summary is not None and summary.failed else 0
