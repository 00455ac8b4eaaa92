"""`bench prepare`: fetch what a planned sweep needs, on a machine with internet.

Compute nodes of a cluster often have no internet; run this on the login node with the
same --methods, --datasets, --profile and --set as the sweep. A sweep with fakes (methods
that train on them, near-distribution sets that test on them) also gets the Inception
weights of the FID/KID figures (`bench.generators.quality`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import paths, registry
from bench.cli import run_slurm


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="download the weights and data a sweep needs, and build its near sets' fake banks",
        description="Fetch every pretrained-weights file the selected methods' profile needs and every selected "
        "dataset that is missing (printing the manual steps where no download exists), then build the fake banks "
        "of the selected near-distribution sets (D-fsde, D-fsgan): one generator per class, as jobs of the "
        "chosen executor — on SLURM, array tasks. Run the fetching where there is internet, with the sweep's "
        "options; the building where the GPUs are.",
    )
    parser.add_argument("--methods", default=registry.ALL, metavar="SPEC", help="methods of the sweep (default: all)")
    parser.add_argument("--datasets", default="digits", metavar="SPEC", help="datasets of the sweep (default: digits)")
    parser.add_argument("--profile", default="smoke", help="profile of the sweep (default: smoke)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME.PARAM=VALUE",
                        help="the sweep's parameter overrides (repeatable)")
    parser.add_argument("--classes", default="all", help="normal classes whose fake banks to build (default: all)")
    parser.add_argument("--data-root", help="dataset root (default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.add_argument("--dry-run", action="store_true", help="list what is missing and how each is got; fetch nothing")
    parser.add_argument("--device", default="auto", help="where banks are built: cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--executor", default="auto", choices=("auto", "inline", "local", "slurm"),
                        help="how the near sets' banks are built, one job per class: inline, local (a pool of "
                        "--workers processes), slurm (job arrays; the SLURM options below), auto (default)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes of --executor local")
    parser.add_argument("--no-build", action="store_true", help="fetch only; build no fake bank")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    run_slurm.add_arguments(parser)
    parser.set_defaults(func=main, rerun=False)


@dataclass
class Needs:
    """What a sweep lacks: weights to fetch, user inputs no command can fetch, datasets."""

    weights: dict = field(default_factory=dict)  # path → (requirement, methods)
    user_inputs: dict = field(default_factory=dict)  # method → what it lacks
    datasets: list = field(default_factory=list)  # benchmarks whose data is missing
    fid_weights: bool = False  # the sweep has fakes and the FID Inception weights are missing


def needs_of(args) -> Needs:
    """Compute what the sweep described by `args` lacks (nothing is fetched)."""
    from bench.plan import select, user_inputs_of_unnamed

    data_root = paths.data_root(args.data_root)
    selection = select(args.methods, args.datasets, profile=args.profile, overrides=args.overrides)
    weights = selection.missing_weights(data_root)
    user_inputs = user_inputs_of_unnamed(weights, selection.named_methods)
    return Needs(weights, user_inputs, [selection.benchmark(name) for name in selection.missing_data(data_root)],
                 fid_weights=has_fakes(selection) and not fid_weights_present())


def has_fakes(selection) -> bool:
    """Whether a selected method trains on fakes or a selected dataset tests on them."""
    return any(getattr(registry.methods.get(m).factory, "trains_on_fakes", False) for m in selection.methods) or any(
        getattr(registry.datasets.get(d).factory, "tests_on_fakes", False) for d in selection.dataset_params)


def fid_weights_present() -> bool:
    from bench.generators.quality import inception_weights

    return inception_weights().exists()


def main(args) -> int:
    from bench.datafiles import fetch_benchmark, manual_steps
    from bench.errors import UserError
    from bench.places import check_folder

    data_root = paths.data_root(args.data_root)
    needs = needs_of(args)
    if not args.dry_run and needs.datasets:
        check_folder(data_root, "the data root", "pass --data-root DIR (or set BENCH_DATA) naming a folder you can write to")
    for name, lacking in needs.user_inputs.items():
        print(f"notice: {name} needs {lacking}; nothing to fetch", file=sys.stderr)
    by_hand = [f"{requirement.what} for {', '.join(users)} at {path}: {requirement.how_to_get}"
               for path, (requirement, users) in needs.weights.items() if requirement.fetch is None]
    weights = {path: need for path, need in needs.weights.items() if need[0].fetch is not None}
    if args.dry_run:
        for path, (requirement, users) in weights.items():
            print(f"would fetch {requirement.what} for {', '.join(users)} → {path}")
        for benchmark in needs.datasets:
            what = "would fetch" if benchmark.archives else "by hand:"
            print(f"{what} dataset {benchmark.name} → {benchmark.data_dir(data_root)}"
                  + (f" ({manual_steps(benchmark, data_root)})" if benchmark.fetch_hint else ""))
        for line in by_hand:
            print(f"by hand: {line}")
        if needs.fid_weights:
            print("would fetch the FID Inception weights (fake-quality figures)")
        if not (weights or needs.datasets or by_hand or needs.fid_weights):
            print("nothing to fetch: every weight file and dataset of this sweep is here")
        return 0
    failures, fetched, manual = [], 0, []
    for path, (requirement, users) in weights.items():
        print(f"fetching {requirement.what} for {', '.join(users)} → {path}", file=sys.stderr)
        try:
            requirement.fetch()
            fetched += 1
        except (UserError, OSError) as error:  # offline, or a dead link: note it, fetch the rest
            failures.append(f"{requirement.what}: {error}")
    if needs.fid_weights:
        from bench.generators.quality import fetch_inception_weights, inception_weights

        print(f"fetching the FID Inception weights → {inception_weights()}", file=sys.stderr)
        try:
            fetch_inception_weights(progress=not args.quiet)
        except (UserError, OSError) as error:  # optional: without them the banks' FID and KID are left out
            print(f"notice: {error}; FID and KID will be left out of the fake-quality figures", file=sys.stderr)
    for benchmark in needs.datasets:
        print(f"fetching dataset {benchmark.name} → {benchmark.data_dir(data_root)}", file=sys.stderr)
        try:
            if fetch_benchmark(benchmark, data_root, progress=not args.quiet):
                fetched += 1
            else:
                manual.append(benchmark)
        except (UserError, OSError) as error:
            failures.append(f"dataset {benchmark.name}: {error}")
    for benchmark in manual:
        print(manual_steps(benchmark, data_root))
    for line in by_hand:
        print(f"by hand: {line}")
    print(f"{fetched} weight file(s) and dataset(s) fetched; {len(manual) + len(by_hand)} to place by hand; "
          f"{len(failures)} could not be fetched")
    for failure in failures:
        print(f"bench prepare: could not fetch {failure}", file=sys.stderr)
    failed = False if args.no_build else build_banks(args, data_root)
    return 1 if failures or manual or by_hand or failed else 0


def bank_jobs(args, data_root) -> list:
    """The split jobs that build the fake banks of the selected near sets (one per class), for
    the datasets whose data is present."""
    from bench.plan import parse_classes, select
    from bench.splits import split_jobs

    selection = select(args.methods, args.datasets, profile=args.profile, overrides=args.overrides)
    jobs = []
    for name, params in selection.dataset_params.items():
        if not getattr(registry.datasets.get(name).factory, "tests_on_fakes", False) or params.get("bank_path"):
            continue  # no generated fakes (a file's, or none at all)
        benchmark = selection.benchmark(name)
        names = benchmark.class_names(data_root)
        classes = parse_classes(args.classes, name, names)
        if not benchmark.missing_files(data_root, classes):
            jobs += split_jobs(name, params, classes, args.profile, names)
    return jobs


def built(store, job) -> bool:
    """A job is done when its record is successful and the bank it names still exists."""
    from pathlib import Path

    record = store.read(job.key) or {}
    path = (record.get("test_fakes") or {}).get("path")
    return record.get("status") == "ok" and path is not None and Path(path).exists()


def build_banks(args, data_root) -> bool:
    """Build the banks the sweep's near sets need, through an executor; True if any failed."""
    from bench.devices import check_device_name, resolve_device
    from bench.errors import UserError
    from bench.executors import choose_executor, make_executor
    from bench.executors.drive import run_sweep
    from bench.settings import RunSettings
    from bench.splits import SplitWorker, builds_root
    from bench.store import Store

    name = "slurm" if args.cluster and args.executor == "auto" else args.executor
    slurm_only = run_slurm.given(args)
    if slurm_only and name != "slurm":
        raise UserError(f"{slurm_only[0]} applies to --executor slurm only: drop it, or add --executor slurm")
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    jobs = bank_jobs(args, data_root)
    if not jobs:
        return False
    cache_dir = paths.cache_dir()
    store = Store(builds_root(cache_dir))
    pending = [job for job in jobs if not built(store, job)]
    print(f"fake banks: {len(jobs)} needed, {len(jobs) - len(pending)} already built")
    if not pending:
        return False
    device = check_device_name(args.device)
    if name == "slurm":
        request = run_slurm.request_from(args, plan_keys=[job.key for job in jobs], results_root=store.root.resolve(),
                                         device=device)
        settings = RunSettings(device=device, data_root=Path(data_root).resolve(), cache_dir=cache_dir.resolve())
        executor = make_executor("slurm", slurm=request)
    else:
        device = resolve_device(device)
        name = choose_executor(name, cells=len(pending), device=device, workers=args.workers)
        settings = RunSettings(device=device, data_root=data_root, cache_dir=cache_dir,
                               show_progress=not args.quiet and name == "inline")
        executor = make_executor(name, workers=args.workers)
    preparation = executor.prepare(pending)
    for notice in preparation.notices:
        print(f"notice: {notice}", file=sys.stderr)
    if not preparation.cells:
        print(preparation.description)
        return False
    print(f"building {preparation.description}", file=sys.stderr)
    summary = run_sweep(preparation.cells, executor, store, settings, progress=not args.quiet,
                        worker=SplitWorker(store.root, settings))
    if summary.submitted:
        print(f"{executor.name}: submitted {preparation.description}")
        print("\n".join(summary.submitted))
        return False
    print(f"fake banks: {summary.line(store)}")
    return bool(summary.failed)
