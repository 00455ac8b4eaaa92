"""`bench prepare`: fetch what a planned sweep needs, on a machine with internet.

Compute nodes of a cluster often have no internet; run this on the login node with the
same --methods, --datasets, --profile and --set as the sweep. A sweep with fakes (methods
that train on them, near-distribution sets that test on them) also gets the Inception
weights of the FID/KID figures (`bench.generators.quality`).
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
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=main)


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

    data_root = paths.data_root(args.data_root)
    needs = needs_of(args)
    for name, lacking in needs.user_inputs.items():
        print(f"notice: {name} needs {lacking}; nothing to fetch", file=sys.stderr)
    for path, (requirement, users) in needs.weights.items():
        if requirement.fetch is None:
            raise UserError(f"{requirement.what} for {', '.join(users)} not found at {path}: {requirement.how_to_get}")
    for path, (requirement, users) in needs.weights.items():
        print(f"fetching {requirement.what} for {', '.join(users)} → {path}", file=sys.stderr)
        requirement.fetch()
    if needs.fid_weights:
        from bench.generators.quality import fetch_inception_weights, inception_weights

        print(f"fetching the FID Inception weights → {inception_weights()}", file=sys.stderr)
        try:
            fetch_inception_weights(progress=not args.quiet)
        except UserError as error:  # optional: without them the banks' FID and KID are left out
            print(f"notice: {error}; FID and KID will be left out of the fake-quality figures", file=sys.stderr)
    fetched, manual = [], []
    for benchmark in needs.datasets:
        print(f"fetching dataset {benchmark.name} → {benchmark.data_dir(data_root)}", file=sys.stderr)
        (fetched if fetch_benchmark(benchmark, data_root, progress=not args.quiet) else manual).append(benchmark)
    for benchmark in manual:
        print(manual_steps(benchmark, data_root))
    print(f"{len(needs.weights)} weight file(s) and {len(fetched)} dataset(s) fetched; "
          f"{len(manual)} dataset(s) to fetch by hand")
    return 1 if manual else 0
