"""`bench data list | verify | fetch`: what data is here, whether it is intact, and getting it."""

from __future__ import annotations

import sys

from bench import paths, registry


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="list, verify and fetch datasets",
        description="Datasets live under --data-root (default: $BENCH_DATA or ~/.cache/nearbench/data).",
    )
    parser.add_argument("--data-root", help="dataset root (default: $BENCH_DATA or ~/.cache/nearbench/data)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(parser))
    listing = actions.add_parser("list", help="every benchmark: embedded, present, corrupt, incomplete or missing; path; size")
    listing.set_defaults(func=list_command)
    verify = actions.add_parser("verify", help="check every file's checksum (default: every dataset with data)")
    verify.add_argument("names", nargs="*", metavar="SPEC", help="datasets: names, globs or groups ('-' removes)")
    verify.set_defaults(func=verify_command)
    fetch = actions.add_parser("fetch", help="download, verify and unpack; or print the manual steps")
    fetch.add_argument("names", nargs="+", metavar="SPEC", help="datasets: names, globs or groups ('-' removes)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bars")
    fetch.set_defaults(func=fetch_command)


# -- compute ---------------------------------------------------------------------------------
def _size(benchmark, root) -> str:
    """Size of the benchmark's declared files that are present."""
    folder = benchmark.data_dir(root)
    sizes = [(folder / f.path).stat().st_size for f in benchmark.data_files() if (folder / f.path).exists()]
    return f"{sum(sizes) / 2**20:.1f} MiB" if sizes else "-"


def _state(benchmark, root) -> str:
    """embedded, present, corrupt (a checksum fails), incomplete or missing."""
    from bench.datafiles import CORRUPT, MISSING

    if benchmark.embedded:
        return "embedded"
    statuses = [f.status(benchmark.data_dir(root)) for f in benchmark.data_files()]
    if all(status == MISSING for status in statuses):
        return "missing"
    if CORRUPT in statuses:
        return "corrupt"
    return "incomplete" if MISSING in statuses else "present"


def data_rows(root) -> list[list[str]]:
    """[dataset, groups, state, path, size] for every registered benchmark."""
    rows = []
    for entry in registry.datasets.entries():
        benchmark = entry.factory()
        embedded = benchmark.embedded
        rows.append([entry.name, ", ".join(entry.groups), _state(benchmark, root),
                     "-" if embedded else str(benchmark.data_dir(root)), "-" if embedded else _size(benchmark, root)])
    return rows


def verification(names: list[str], root) -> list[tuple[str, str, str]]:
    """(dataset, status, path) for every declared file of the named datasets (default: every
    dataset with some data); embedded ones have one row with status `embedded`."""
    if not names:
        names = [
            e.name for e in registry.datasets.entries()
            if not e.factory().embedded and len(e.factory().missing_files(root)) < len(e.factory().data_files())
        ]
    rows = []
    for name in registry.datasets.select(",".join(names)):
        benchmark = registry.datasets.get(name).factory()
        if benchmark.embedded:
            rows.append((benchmark.name, "embedded", ""))
            continue
        folder = benchmark.data_dir(root)
        rows += [(benchmark.name, f.status(folder), str(folder / f.path)) for f in benchmark.data_files()]
    return rows


# -- commands (render) ------------------------------------------------------------------------
def list_command(args) -> int:
    from tabulate import tabulate

    rows = data_rows(paths.data_root(args.data_root))
    print(tabulate(rows, headers=["dataset", "groups", "data", "path", "size"], tablefmt="simple"))
    print("`bench data verify` checks checksums; `bench data fetch NAME` gets a dataset.")
    return 0


def verify_command(args) -> int:
    from bench.datafiles import OK

    rows = verification(args.names, paths.data_root(args.data_root))
    for name, status, path in rows:
        print(f"{name}: embedded, nothing to verify" if status == "embedded" else f"{name}: {status:7s} {path}")
    problems = sum(status not in (OK, "embedded") for _, status, _ in rows)
    if problems:
        print(f"{problems} file(s) missing or corrupt: `bench data fetch NAME` replaces them", file=sys.stderr)
    return 1 if problems else 0


def fetch_command(args) -> int:
    from bench.datafiles import fetch_benchmark, manual_steps
    from bench.errors import UserError

    root = paths.data_root(args.data_root)
    names = registry.datasets.select(",".join(args.names))  # unknown names fail first
    benchmarks = [registry.datasets.get(name).factory() for name in names]
    manual = []
    for benchmark in benchmarks:
        if benchmark.embedded:
            print(f"{benchmark.name}: embedded, nothing to fetch")
        elif fetch_benchmark(benchmark, root, progress=not args.quiet):
            print(f"{benchmark.name}: ready in {benchmark.data_dir(root)}")
        else:
            manual.append(benchmark)
    for benchmark in manual:
        print(manual_steps(benchmark, root))
    if manual:
        raise UserError(f"{', '.join(b.name for b in manual)} must be fetched by hand, as printed above")
    return 0
