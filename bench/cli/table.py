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
  *  (--reference) a published value not verified in the paper or the authors' repository

examples:
  bench table --reference paper                 our numbers beside the published ones, with Δ
  bench table --ci --stats --cd-diagram cd.pdf  bootstrap intervals; Friedman/Nemenyi and a CD diagram
  bench table --format latex > table.tex        booktabs, best bold, second underlined, caption and label
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
                        "fpr95-anomaly-positive (FPR at 95%% TPR, anomalies positive: normal images flagged "
                        "when 95%% of anomalies are caught), fpr95-normal-positive (the OOD papers' convention, "
                        "normal positive: anomalies accepted when 95%% of normal images are; both lower is "
                        "better), auroc-worst (min over anomaly classes), auroc-classmean "
                        "(mean over anomaly classes)")
    parser.add_argument("--format", default="markdown", choices=FORMATS,
                        help="output format (csv: one tidy row per entry, with its coverage)")
    parser.add_argument("--per-class", action="store_true", help="one column per (dataset, normal class)")
    parser.add_argument("--methods", metavar="SPEC", help="only these methods (names, globs, groups; '-' removes)")
    parser.add_argument("--datasets", metavar="SPEC", help="only these datasets (names, globs, groups; '-' removes)")
    parser.add_argument("--profile", help="only records of this profile")
    parser.add_argument("--data-root", help="where today's data is, to find stale records "
                        "(default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.add_argument("--reference", metavar="paper|FILE.csv",
                        help="one row per (method, dataset) with the published value and Δ = ours − paper; published "
                        "pairs without records too (paper: the packaged published numbers; or a CSV of your own)")
    parser.add_argument("--ci", action="store_true",
                        help="show each AUROC entry's 95%% stratified bootstrap interval (the mean over its cells' "
                        "intervals, stored in the records)")
    parser.add_argument("--stats", action="store_true",
                        help="under the table: Friedman's test over (dataset, normal class) blocks and Nemenyi's "
                        "post-hoc test (average ranks, critical difference, pairs that differ)")
    parser.add_argument("--cd-diagram", metavar="FILE", help="with --stats: write the critical-difference diagram "
                        "(.png, .pdf or .svg)")
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


def selected_reference(args) -> list | None:
    """The published rows `--reference` names, filtered by `--methods` and `--datasets`."""
    if not args.reference:
        return None
    from bench.reference import load

    rows = load(args.reference)
    methods = set(registry.methods.match(args.methods, {r.method for r in rows})) if args.methods else None
    datasets = set(registry.datasets.match(args.datasets, {r.dataset for r in rows})) if args.datasets else None
    return [r for r in rows if (methods is None or r.method in methods) and (datasets is None or r.dataset in datasets)]


def statistics(frame, args) -> str:
    """The significance lines (and the diagram written to --cd-diagram)."""
    from bench.errors import UserError
    from bench.stats import compare

    comparison = compare(frame, args.metric)
    if args.cd_diagram:
        try:
            comparison.diagram(args.cd_diagram)
        except (OSError, ValueError) as error:
            raise UserError(f"--cd-diagram {args.cd_diagram}: cannot write it ({error}); give a .png, .pdf or .svg "
                            "path in a folder that exists") from None
    return "\n".join(comparison.lines())


def main(args) -> int:
    from bench.errors import UserError
    from bench.records import FAILED
    from bench.staleness import check_records
    from bench.store import Store
    from bench.table import long_frame, render

    if args.cd_diagram and not args.stats:
        raise UserError("--cd-diagram draws what --stats computes: add --stats")
    if args.reference and args.per_class:
        raise UserError("--reference compares per dataset, as papers publish: drop --per-class")
    reference = selected_reference(args)
    store = Store(paths.results_dir(args.results))
    scan = store.scan()
    warning = scan.warning()
    if warning:
        print(warning, file=sys.stderr)
    if not scan.records and reference is None:
        raise UserError(f"no records under {store.root}: run `bench run` first, or point --results at them")
    records = selected_records(scan.records, args)
    verdicts = check_records(records, data_root=paths.data_root(args.data_root), cache_dir=paths.cache_dir())
    frame = long_frame(records)
    text = render(frame, args.metric, args.format, by_class=args.per_class, stale=verdicts.stale, ci=args.ci,
                  reference=reference)
    if not text:
        filtered = any(value is not None for value in (args.methods, args.datasets, args.profile))
        raise UserError("no successful records match these filters" if filtered else
                        f"no successful records under {store.root} (only failed ones): `bench run` runs them again")
    stats = statistics(frame, args) if args.stats else None
    print(text)
    if stats:
        print(stats, file=sys.stdout if args.format == "markdown" else sys.stderr)  # keeps a CSV or LaTeX file clean
    failed = sum(record["status"] == FAILED for record in records)
    if failed:
        print(f"({failed} failed cell(s) left out; `bench run` retries them)", file=sys.stderr)
    if verdicts.unchecked:
        print(f"({len(verdicts.unchecked)} record(s) could not be checked for staleness: "
              f"{verdicts.unchecked_summary()})", file=sys.stderr)
    return 0
