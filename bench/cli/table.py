"""`bench table`: the leaderboard, rebuilt from the records under a results root."""

from __future__ import annotations

import fnmatch
import sys

from bench import paths, registry
from bench.metrics import METRICS

FORMATS = ("markdown", "latex", "csv", "html")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "table",
        help="print the leaderboard from the records",
        description="Aggregate records into a leaderboard: per (method, dataset) the mean over normal classes, "
        "mean ± std over seeds (in %), a mean column over datasets and the average rank (1 = best).",
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
    parser.add_argument("--format", default="markdown", choices=FORMATS, help="output format (csv: tidy numbers)")
    parser.add_argument("--per-class", action="store_true", help="one column per (dataset, normal class)")
    parser.add_argument("--methods", metavar="SPEC", help="only these methods (names, globs, groups)")
    parser.add_argument("--datasets", metavar="SPEC", help="only these datasets (names, globs, groups)")
    parser.add_argument("--profile", help="only records of this profile")
    parser.set_defaults(func=main)


def _filter(names, spec: str | None, reg: registry.Registry):
    """Keep names matching SPEC: registered groups expand; other tokens are globs on record names."""
    if not spec:
        return set(names)
    groups = reg.groups()
    keep = set()
    for token in (t.strip() for t in spec.split(",") if t.strip()):
        patterns = groups.get(token, [token])
        keep |= {n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)}
    return keep


def main(args) -> int:
    from bench.errors import UserError
    from bench.records import FAILED
    from bench.store import Store
    from bench.table import long_frame, render

    store = Store(paths.results_dir(args.results))
    records = list(store.records())
    if not records:
        raise UserError(f"no records under {store.root}: run `bench run` first, or point --results at them")
    frame = long_frame(records)
    frame = frame[frame.method.isin(_filter(set(frame.method), args.methods, registry.methods))]
    frame = frame[frame.dataset.isin(_filter(set(frame.dataset), args.datasets, registry.datasets))]
    if args.profile:
        frame = frame[frame.profile == args.profile]
    text = render(frame, args.metric, args.format, by_class=args.per_class)
    if not text:
        raise UserError("no successful records match these filters")
    print(text)
    failed = sum(record["status"] == FAILED for record in records)
    if failed:
        print(f"({failed} failed cell(s) left out; `bench run` retries them)", file=sys.stderr)
    return 0
