"""`bench prepare`: fetch what a planned sweep needs, on a machine with internet.

Compute nodes of a cluster often have no internet; run this on the login node with the
same --methods, --datasets, --profile and --set as the sweep.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from bench import paths, registry


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="download the pretrained weights and data a sweep needs",
        description="Fetch every pretrained-weights file the selected methods' profile needs and every selected "
        "dataset that is missing (printing the manual steps where no download exists). Run it where there is "
        "internet, with the sweep's options.",
    )
    parser.add_argument("--methods", default=registry.ALL, metavar="SPEC", help="methods of the sweep (default: all)")
    parser.add_argument("--datasets", default="digits", metavar="SPEC", help="datasets of the sweep (default: digits)")
    parser.add_argument("--profile", default="smoke", help="profile of the sweep (default: smoke)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME.PARAM=VALUE",
                        help="the sweep's parameter overrides (repeatable)")
    parser.add_argument("--data-root", help="dataset root (default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.add_argument("--dry-run", action="store_true", help="list what is missing and how each is got; fetch nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=main)


@dataclass
class Needs:
    """What a sweep lacks: weights to fetch, user inputs no command can fetch, datasets."""

    weights: dict = field(default_factory=dict)  # path → (requirement, methods)
    user_inputs: dict = field(default_factory=dict)  # method → what it lacks
    datasets: list = field(default_factory=list)  # benchmarks whose data is missing


def needs_of(args) -> Needs:
    """Compute what the sweep described by `args` lacks (nothing is fetched)."""
    from bench.plan import select, user_inputs_of_unnamed

    data_root = paths.data_root(args.data_root)
    selection = select(args.methods, args.datasets, profile=args.profile, overrides=args.overrides)
    weights = selection.missing_weights(data_root)
    user_inputs = user_inputs_of_unnamed(weights, selection.named_methods)
    return Needs(weights, user_inputs, [selection.benchmark(name) for name in selection.missing_data(data_root)])


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
        if not (weights or needs.datasets or by_hand):
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
    return 1 if failures or manual or by_hand else 0
