"""`bench table`: the leaderboard, rebuilt from the records under a results root."""

from __future__ import annotations

import argparse
import sys

from bench import paths, registry
from bench.metrics import METRICS

FORMATS = ("markdown", "latex", "csv", "html")
EPILOG = """\
SPEC is a comma list of names, globs and groups as in `bench run`; a leading '-' removes:
'all,-pyod-*'. Names of records whose plug-in is no longer installed match too.

marks:
  †  the entry covers fewer (class, seed) pairs than the fullest grid of its column
     (a note under the table says what it lacks)
  ‡  the entry holds stale records: made from other data or code than today's
     (`bench run` runs them again; records that cannot be checked here are noted)
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "table",
        help="print the leaderboard from the records",
        description="Aggregate records into a leaderboard: per (method, dataset) the mean over normal classes, "
        "then mean ± std over seeds (in %), a mean column over datasets and the average rank (1 = best) over "
        "the datasets every method has. Incomplete and stale entries are marked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", help="results root (default: $BENCH_RESULTS or ./results)")
    parser.add_argument("--metric", default="headline", choices=list(METRICS),
                        help="headline (default: each dataset's own metric, AUROC or for worst-class protocols "
                        "such as digits-worst and cifar10-vs-cifar100 the worst-class AUROC), auroc, aupr, "
                        "fpr95 (lower is better), auroc-worst (min over anomaly classes), auroc-classmean "
                        "(mean over anomaly classes)")
    parser.add_argument("--format", default="markdown", choices=FORMATS,
                        help="output format (csv: one tidy row per entry, with its coverage)")
    parser.add_argument("--per-class", action="store_true", help="one column per (dataset, normal class)")
    parser.add_argument("--methods", metavar="SPEC", help="only these methods (names, globs, groups; '-' removes)")
    parser.add_argument("--datasets", metavar="SPEC", help="only these datasets (names, globs, groups; '-' removes)")
    parser.add_argument("--profile", help="only records of this profile")
    parser.add_argument("--data-root", help="where today's data is, to find stale records "
                        "(default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.set_defaults(func=main)


def selected_records(records: list[dict], args) -> list[dict]:
    """The records of the methods, datasets and profile that `args` select."""
    methods = set(registry.methods.match(args.methods, {r["cell"]["method"] for r in records})) \
        if args.methods else None
    datasets = set(registry.datasets.match(args.datasets, {r["cell"]["dataset"] for r in records})) \
        if args.datasets else None
    return [
        r for r in records
        if (methods is None or r["cell"]["method"] in methods)
        and (datasets is None or r["cell"]["dataset"] in datasets)
        and (not args.profile or r["cell"]["profile"] == args.profile)
    ]


def main(args) -> int:
    from bench.errors import UserError
    from bench.records import FAILED
    from bench.staleness import check_records
    from bench.store import Store
    from bench.table import long_frame, render

    store = Store(paths.results_dir(args.results))
    scan = store.scan()
    warning = scan.warning()
    if warning:
        print(warning, file=sys.stderr)
    if not scan.records:
        raise UserError(f"no records under {store.root}: run `bench run` first, or point --results at them")
    records = selected_records(scan.records, args)
    verdicts = check_records(records, data_root=paths.data_root(args.data_root), cache_dir=paths.cache_dir())
    text = render(long_frame(records), args.metric, args.format, by_class=args.per_class, stale=verdicts.stale)
    if not text:
        raise UserError("no successful records match these filters")
    print(text)
    failed = sum(record["status"] == FAILED for record in records)
    if failed:
        print(f"({failed} failed cell(s) left out; `bench run` retries them)", file=sys.stderr)
    if verdicts.unchecked:
        print(f"({len(verdicts.unchecked)} record(s) could not be checked for staleness: "
              f"{verdicts.unchecked_summary()})", file=sys.stderr)
    return 0
