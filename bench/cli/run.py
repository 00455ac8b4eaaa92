"""`bench run`: plan a sweep, check it, skip what is done, run the rest, record every cell."""

from __future__ import annotations

import argparse
import sys

from bench import paths, registry
from bench.cli import run_slurm
from bench.devices import check_device_name, resolve_device
from bench.executors import EXECUTORS, choose_executor, make_executor

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
        "are skipped.",
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
                        "auto (default): local on a multi-core CPU with many cells, else inline")
    parser.add_argument("--workers", type=int, default=None, help="worker processes for --executor local (default: CPU count)")
    parser.add_argument("--rerun", action="store_true", help="run cells again even when a record exists")
    parser.add_argument("--dry-run", action="store_true", help="print the cells, marked done or pending, and run nothing")
    parser.add_argument("--strict", action="store_true", help="make missing data of datasets (and missing fake banks of methods) reached through a group an error")
    parser.add_argument("--no-cache", action="store_true", help="compute backbone features afresh instead of using the feature cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    run_slurm.add_arguments(parser)
    parser.set_defaults(func=main)


def main(args) -> int:
    from bench.errors import UserError
    from bench.plan import make_plan
    from bench.runner import RunSettings
    from bench.store import Store
    from bench.sweep import Summary, run_sweep

    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.loader_workers is not None and args.loader_workers < 0:
        raise UserError("--loader-workers must be 0 or more")
    executor = "slurm" if args.cluster and args.executor == "auto" else args.executor
    slurm_only = run_slurm.given(args)
    if slurm_only and executor != "slurm":
        raise UserError(f"{slurm_only[0]} applies to --executor slurm (or name a profile with --cluster)")
    if executor == "slurm":  # options checked, the device resolved on the nodes
        options = run_slurm.options_from(args)
    device = check_device_name(args.device)  # resolved (importing torch) only once cells are pending
    data_root = paths.data_root(args.data_root)
    plan = make_plan(
        args.methods,
        args.datasets,
        classes=args.classes,
        seeds=args.seeds,
        profile=args.profile,
        overrides=args.overrides,
        data_root=data_root,
        strict=args.strict,
    )
    if plan.skipped:
        listing = "; ".join(f"{name} (`bench data fetch {name}`)" for name in plan.skipped)
        print(f"notice: skipping datasets whose data is missing: {listing}", file=sys.stderr)
    for name, lacking in plan.skipped_methods.items():
        print(f"notice: skipping method {name}: it needs {lacking} (name it to make this an error)", file=sys.stderr)
    store = Store(paths.results_dir(args.results))
    done = set() if args.rerun else {cell.key for cell in plan.cells if store.is_done(cell)}
    pending = [cell for cell in plan.cells if cell.key not in done]

    if args.dry_run:
        for cell in plan.cells:
            print(f"{'done   ' if cell.key in done else 'pending'}  {cell.key}")
        print(f"{len(plan.cells)} cells: {len(done)} done, {len(pending)} pending")
        if executor != "slurm" or not pending:
            return 0
    if not pending:
        print(Summary(skipped=len(done)).line(store))
        return 0
    if executor == "slurm":
        settings = RunSettings(
            device=device,
            loader_workers=args.loader_workers,
            data_root=data_root.resolve(),
            cache_dir=None if args.no_cache else paths.cache_dir().resolve(),
        )
        return run_slurm.run_on_slurm(args, options, plan, pending, len(done), store, settings)

    device = resolve_device(device)  # a GPU asked for must be here, before anything runs or is written
    executor = choose_executor(executor, cells=len(pending), device=device)
    settings = RunSettings(
        device=device,
        loader_workers=args.loader_workers,
        data_root=data_root,
        cache_dir=None if args.no_cache else paths.cache_dir(),
        show_progress=not args.quiet and executor == "inline",
    ).placed()
    summary = run_sweep(
        pending,
        make_executor(executor, workers=args.workers),
        store,
        settings,
        skipped=len(done),
        progress=not args.quiet,
    )
    print(summary.line(store))
    return 1 if summary.failed else 0
