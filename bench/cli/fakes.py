"""`bench fakes`: build (or reuse) a fake bank of one class and show where it is."""

from __future__ import annotations

import argparse

from bench import paths

EPILOG = """\
The bank is cached under $BENCH_CACHE/fakes/ per (dataset, class, generator, config hash,
seed); a PNG grid of its first images and a JSON file (identity, losses, seconds) lie beside
it. The same command again reuses it. Generators: diffusion, dcgan, wgan-gp (`bench list
generators`).

examples:
  bench fakes --dataset digits --class 3 --generator diffusion
  bench fakes --dataset cifar10 --class airplane --generator dcgan --profile paper --device cuda
  bench fakes --dataset digits --class 3 --generator diffusion --set train_steps=100 --set t_stop=0.2
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "fakes",
        help="train a generator on one normal class and cache its fakes",
        description="Train GENERATOR on the normal training images of CLASS of DATASET and sample N fakes\n"
        "into a cached uint8 N×H×W×3 bank (FITYMI's layout), with a PNG grid to look at.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", required=True, help="dataset whose training images the generator learns")
    parser.add_argument("--class", dest="classes", required=True, metavar="CLASS",
                        help="normal class: an index or a name (a comma list builds one bank each)")
    parser.add_argument("--generator", required=True, help="diffusion, dcgan or wgan-gp")
    parser.add_argument("--n", type=int, default=None, help="number of fakes (default: as many as training images)")
    parser.add_argument("--profile", default="smoke", help="the generator's profile: smoke (CPU) or paper")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PARAM=VALUE",
                        help="override a generator hyper-parameter (JSON value; repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed (default: 0)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--data-root", help="dataset root (default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=main)


def parse_overrides(texts: list[str]) -> dict:
    from bench.errors import UserError
    from bench.plan import parse_value

    overrides = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set {text!r}: write PARAM=VALUE, e.g. --set train_steps=500")
        overrides[name.strip()] = parse_value(raw)
    return overrides


def main(args) -> int:
    from bench import registry
    from bench.context import RunContext, no_progress
    from bench.devices import resolve_device
    from bench.errors import UserError
    from bench.generators import generator_params
    from bench.generators.bank import BankRequest, fake_bank
    from bench.plan import parse_classes, parse_seeds
    from bench.progress import progress_bar

    if args.n is not None and args.n < 1:
        raise UserError("--n must be at least 1")
    parse_seeds(str(args.seed))  # in [0, 2³²), as bench run's
    params = generator_params(args.generator, args.profile, parse_overrides(args.overrides))
    benchmark = registry.datasets.get(args.dataset).factory()
    data_root = paths.data_root(args.data_root)
    names = benchmark.class_names(data_root)
    classes = parse_classes(args.classes, args.dataset, names)
    missing = benchmark.missing_files(data_root, classes)
    if missing:
        raise UserError(f"{args.dataset}: {len(missing)} file(s) missing, e.g. {missing[0]}: `bench data fetch {args.dataset}`")
    for normal_class in classes:
        ctx = RunContext(
            seed=args.seed,
            normal_class=normal_class,
            device=resolve_device(args.device),
            data_root=data_root,
            cache_dir=paths.cache_dir(),
            progress=no_progress if args.quiet else progress_bar,
        )
        train = benchmark.split(normal_class, ctx).train
        request = BankRequest(args.generator, params, args.n or len(train), args.seed)
        bank, path = fake_bank(train, request, ctx)
        where = path if path is not None else "(not cached: this dataset's images have no cache key)"
        print(f"{args.dataset} class {names[normal_class]}: {len(bank)} fakes {bank.shape[1]}×{bank.shape[2]} from "
              f"{args.generator} → {where}")
        if path is not None:
            print(f"  grid: {path.with_suffix('.png')}")
    return 0
