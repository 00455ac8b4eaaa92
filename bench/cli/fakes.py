"""`bench fakes`: build (or reuse) a fake bank of one class and show where it is."""

from __future__ import annotations

import argparse

from bench import paths

EPILOG = """\
The bank is cached under $BENCH_CACHE/fakes/ per (dataset, class, generator, config hash,
stream, seed); a PNG grid (real training images above its first fakes) and a JSON file
(identity, losses, seconds, SHA-256, fake quality) lie beside it. The same command again
reuses it. The generator works at the dataset's resolution (at most its max_image_size).

Fake quality (stored in the JSON, printed here): FID and KID against the class's real
training images (needs the Inception weights `bench prepare` fetches), the Fréchet distance
in a backbone (DN2's ResNet-152 for paper, a random ResNet-18 for smoke) and nearness (0: as
near the class as its unseen images, 1: as far as its real anomalies).

Streams keep training and test fakes apart: methods train on stream `method` (the default);
near-distribution sets test on stream `benchmark`. A hand-made test bank for a near set
must use --stream benchmark, or it holds exactly the fakes a method trains on.

examples:
  bench fakes --dataset digits --class 3 --generator diffusion
  bench fakes --dataset cifar10 --class airplane --generator dcgan --profile paper --device cuda
  bench fakes --dataset digits --class 3 --generator diffusion --set train_steps=100 --set t_stop=0.2
  bench fakes --dataset cifar10 --class all --generator dcgan --profile paper --stream benchmark --n 1000 \\
      --export cifar10_fsgan.npy     a class-ordered test bank for --set cifar10-fsgan.bank_path=...
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
    parser.add_argument("--stream", default="method", choices=("method", "benchmark"),
                        help="method: training fakes, the bank a method with this generator and seed trains on "
                        "(default); benchmark: test fakes for a near-distribution set, never trained on")
    parser.add_argument("--no-quality", action="store_true", help="skip the fake-quality figures")
    parser.add_argument("--export", metavar="FILE", help="also write the classes' banks, in class order, to FILE "
                        "(FITYMI's layout) with a JSON beside it naming the stream")
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
    import sys

    from bench import registry
    from bench.context import RunContext, no_progress
    from bench.devices import resolve_device
    from bench.errors import UserError
    from bench.generators import generator_params
    from bench.generators.bank import BankRequest, bank_info, fake_bank
    from bench.generators.base import follow_data
    from bench.plan import parse_classes, parse_seeds
    from bench.progress import progress_bar

    if args.n is not None and args.n < 1:
        raise UserError("--n must be at least 1")
    try:
        parse_seeds(str(args.seed))  # in [0, 2³²), as bench run's
    except UserError as error:
        raise UserError(str(error).replace("--seeds", "--seed")) from None
    benchmark = registry.datasets.get(args.dataset).factory()
    params = follow_data(generator_params(args.generator, args.profile, parse_overrides(args.overrides)),
                         benchmark.image_size)
    data_root = paths.data_root(args.data_root)
    names = benchmark.class_names(data_root)
    classes = parse_classes(args.classes, args.dataset, names)
    missing = benchmark.missing_files(data_root, classes)
    if missing:
        raise UserError(f"{args.dataset}: {len(missing)} file(s) missing, e.g. {missing[0]}: `bench data fetch {args.dataset}`")
    if args.export:
        check_export(args, benchmark, names, classes, RunContext(data_root=data_root))
    export = []
    for normal_class in classes:
        ctx = RunContext(
            seed=args.seed,
            profile=args.profile,
            normal_class=normal_class,
            device=resolve_device(args.device),
            data_root=data_root,
            cache_dir=paths.cache_dir(),
            progress=no_progress if args.quiet else progress_bar,
        )
        split = benchmark.split(normal_class, ctx)
        request = BankRequest(args.generator, params, args.n or len(split.train), args.seed, stream=args.stream,
                              profile=args.profile)
        quality = None if args.no_quality else quality_of(split, request, ctx)
        bank, path = fake_bank(split.train, request, ctx, quality=quality)
        where = path if path is not None else "(not cached: this dataset's images have no cache key)"
        print(f"{args.dataset} class {names[normal_class]}: {len(bank)} fakes {bank.shape[1]}×{bank.shape[2]} from "
              f"{args.generator} ({args.profile}, stream {args.stream}, seed {args.seed}) → {where}")
        if path is not None:
            print(f"  grid: {path.with_suffix('.png')}")
            figures = bank_info(path).get("quality")
            if figures:
                print(f"  quality: {format_quality(figures)}")
                for name, why in figures.get("skipped", {}).items():
                    print(f"notice: {name} not measured: {why}", file=sys.stderr)
        export.append((bank, path))
    if args.export:
        write_export(args, export, names, classes)
    return 0


def quality_of(split, request, ctx):
    """The fake-quality measurement for the banks of `split`'s class (nearness against its
    test set's normal images and real anomalies)."""
    from bench.generators.quality import QualityBackbone, measure

    normal = split.test.subset([i for i in range(len(split.test)) if not split.is_anomaly[i]])
    anomalies = split.test.subset([i for i in range(len(split.test)) if split.is_anomaly[i]])
    return lambda bank: measure(bank, split.train, ctx, backbone=QualityBackbone.for_profile(request.profile),
                                normal_test=normal, anomalies=anomalies)


def format_quality(figures: dict) -> str:
    """One line of a bank's fake-quality figures ('-' for one not measured)."""

    def number(key: str, digits: int = 2) -> str:
        value = figures.get(key)
        return "-" if value is None else f"{value:.{digits}f}"

    return (f"FID {number('fid')}, KID {number('kid', 4)} ± {number('kid_std', 4)}, "
            f"FD[{figures.get('backbone', '?')}] {number('fd_backbone')}, nearness {number('nearness')} "
            f"(kNN AUROC fakes {number('knn_auroc_fakes', 3)}, real anomalies {number('knn_auroc_anomalies', 3)})")


def check_export(args, benchmark, names, classes, ctx) -> None:
    """--export's conditions, checked before any generator trains (UserError): every class, in
    order; as many fakes per class (`--n`, or classes of one size); a folder to write to."""
    from pathlib import Path

    from bench.errors import UserError
    from bench.places import check_output_file

    if classes != list(range(len(names))):
        raise UserError("--export writes a class-ordered bank: give --class all")
    sizes = {benchmark.train_size(c, ctx) for c in classes}
    if args.n is None and (None in sizes or len(sizes) != 1):
        raise UserError(f"--export needs as many fakes per class ({args.dataset}'s classes differ in size, or may): "
                        "give --n")
    check_output_file(Path(args.export), "--export")


def write_export(args, banks, names, classes) -> None:
    """The banks of every class, in class order, as one .npy (FITYMI's layout) with a JSON."""
    from pathlib import Path

    import numpy as np

    from bench.atomic import atomic_write, write_json
    from bench.digest import file_digest
    from bench.errors import UserError

    if classes != list(range(len(names))):
        raise UserError("--export writes a class-ordered bank: give --class all")
    sizes = {len(bank) for bank, _ in banks}
    if len(sizes) != 1:
        raise UserError(f"--export needs as many fakes per class (got {sorted(sizes)}): give --n")
    path = Path(args.export)
    with atomic_write(path) as handle:
        np.save(handle, np.concatenate([bank for bank, _ in banks]))
    write_json(path.with_suffix(".json"), {
        "dataset": args.dataset, "generator": args.generator, "profile": args.profile, "stream": args.stream,
        "seed": args.seed, "classes": len(names), "per_class": sizes.pop(), "sha256": file_digest(path),
        "banks": [str(p) if p is not None else None for _, p in banks],
    })
    print(f"exported {len(banks)} classes in class order → {path}")
