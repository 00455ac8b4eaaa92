"""`bench report`: one self-contained HTML page about the records under a results root."""

from __future__ import annotations

import sys

from bench import paths


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write one self-contained HTML report of the records",
        description="Write one HTML file (figures embedded) about the records under a results root: the "
        "leaderboard of each metric with coverage and staleness marks, per-class bars, each method's drop from "
        "standard to near-distribution sets, the critical-difference diagram, cached fake samples beside real "
        "images (with FID/KID where measured) and a provenance summary.",
    )
    parser.add_argument("--results", help="results root (default: $BENCH_RESULTS or ./results)")
    parser.add_argument("--out", metavar="FILE.html", help="where to write it (default: <results>/report.html)")
    parser.add_argument("--data-root", help="where today's data is, to find stale records "
                        "(default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.add_argument("--title", help="the page's title (default: nearbench report: <results>)")
    parser.set_defaults(func=main)


def main(args) -> int:
    from pathlib import Path

    from bench.atomic import atomic_write
    from bench.errors import UserError
    from bench.places import check_output_file
    from bench.report import build

    root = paths.results_dir(args.results)
    out = Path(args.out) if args.out else root / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--out {out}: the report is HTML; give a file ending in .html")
    if not root.is_dir():
        raise UserError(f"no results root at {root}: run `bench run` first, or point --results at it")
    check_output_file(out, "--out")  # before the report is built: a typo leaves no folder behind
    text = build(root, data_root=paths.data_root(args.data_root), cache_dir=paths.cache_dir(), title=args.title)
    try:
        with atomic_write(out, "w") as handle:
            handle.write(text)
    except OSError as error:
        raise UserError(f"--out {out}: cannot write it ({error.strerror or error})") from None
    print(f"report: {out} ({len(text.encode()) / 2**20:.1f} MiB)", file=sys.stderr)
    print(out)
    return 0
