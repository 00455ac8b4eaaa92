"""`bench data list | verify | fetch`: what data is here, whether it is intact, and getting it."""

from __future__ import annotations

import sys

from bench import paths, registry

DAMAGED = "damaged"  # a file derived from the declared ones (an unpacked copy) that is cut short
MISPLACED = "misplaced"  # data unpacked one folder too deep
UNUSABLE = "unusable"  # present, but not what the split can read (an empty folder, a missing mask)


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
    clean = actions.add_parser("clean", help="delete downloaded archives of datasets whose files verify")
    clean.add_argument("names", nargs="*", metavar="NAME", help="only these datasets (default: every one)")
    clean.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    clean.set_defaults(func=clean_command)
    fetch = actions.add_parser("fetch", help="download, verify and unpack; or print the manual steps")
    fetch.add_argument("names", nargs="+", metavar="SPEC", help="datasets: names, globs or groups ('-' removes)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bars")
    fetch.set_defaults(func=fetch_command)


# -- compute ---------------------------------------------------------------------------------
def _size(benchmark, root) -> str:
    """Size of the benchmark's declared files and folders that are present (a folder's
    files counted whole, each file once)."""
    folder = benchmark.data_dir(root)
    files = set()
    for data_file in benchmark.data_files():
        path = folder / data_file.path
        if path.is_file():
            files.add(path)
        elif path.is_dir():
            files.update(p for p in path.rglob("*") if p.is_file())
    return f"{sum(p.stat().st_size for p in files) / 2**20:.1f} MiB" if files else "-"


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


def input_rows(root) -> list[tuple[str, object]]:
    """(method, requirement) for every file or folder a registered method's `paper` profile
    needs that only the user can provide (an outlier set, a Fisher file, a fake bank)."""
    from bench.context import RunContext
    from bench.params import profile_values, resolve_params

    ctx = RunContext(profile="paper", data_root=root)
    rows, seen = [], set()
    for entry in registry.methods.entries():
        params = resolve_params(entry.factory, profile_values(entry.factory, "paper"))
        for requirement in entry.factory.inputs(params, ctx):
            if requirement.path not in seen:
                seen.add(requirement.path)
                rows.append((entry.name, requirement))
    return rows


def _input_state(requirement) -> str:
    if requirement.present:
        return "present"
    return "unusable" if requirement.path.exists() else "missing"


def verification(names: list[str], root) -> list[tuple[str, str, str]]:
    """(dataset, status, path or what is wrong) for the named datasets (default: every
    dataset with some data): each declared file once, even when several datasets share it
    (CIFAR-10's batches), then what makes present data unusable — a misplaced folder, an
    empty one, a missing mask (what the split will read) — and damaged derived files.
    Embedded datasets have one row with status `embedded`."""
    if names:
        benchmarks = [registry.datasets.get(name).factory() for name in registry.datasets.select(",".join(names))]
    else:
        benchmarks = [e.factory() for e in registry.datasets.entries()
                      if not e.factory().embedded and len(e.factory().missing_files(root)) < len(e.factory().data_files())]
    rows, seen = [], set()
    for benchmark in benchmarks:
        if benchmark.embedded:
            rows.append((benchmark.name, "embedded", ""))
            continue
        folder = benchmark.data_dir(root)
        for data_file in benchmark.data_files():
            path = (folder / data_file.path).resolve()
            if path not in seen:
                seen.add(path)
                rows.append((benchmark.name, data_file.status(folder), str(folder / data_file.path)))
        hint = benchmark.layout_hint(root)
        if hint:
            rows.append((benchmark.name, MISPLACED, hint))
        present = [c for c in range(len(benchmark.classes)) if not benchmark.missing_files(root, [c])]
        rows += [(benchmark.name, UNUSABLE, item.line()) for item in benchmark.usability_problems(root, present)]
        rows += [(benchmark.name, DAMAGED, f"{path} ({problem}; the next run unpacks it again)")
                 for path, problem in benchmark.derived_problems(root)]
    return rows


# -- commands (render) ------------------------------------------------------------------------
def data_root(args, *, writable: bool = False):
    """The data root of `args`, checked to be a folder (or makeable as one), and writable
    when the command writes there (UserError)."""
    from bench.places import check_folder

    root = paths.data_root(args.data_root)
    check_folder(root, "the data root", "pass --data-root DIR (or set BENCH_DATA) naming a folder", writable=writable)
    return root


def list_command(args) -> int:
    from tabulate import tabulate

    root = data_root(args)
    rows = data_rows(root)
    print(tabulate(rows, headers=["dataset", "groups", "data", "path", "size"], tablefmt="simple"))
    print("`bench data verify` checks checksums; `bench data fetch NAME` gets a dataset.")
    inputs = input_rows(root)
    if inputs:
        print("\nInputs of methods that only you can provide (no download exists; `paper` profile paths):")
        print(tabulate([[name, r.what, _input_state(r), str(r.path)] for name, r in inputs],
                       headers=["method", "input", "state", "path"], tablefmt="simple"))
        for name, requirement in inputs:
            layout = f" Layout: {requirement.layout}." if requirement.layout else ""
            print(f"- {name}: {requirement.how_to_get}.{layout}")
    return 0


def verify_command(args) -> int:
    from bench.datafiles import OK

    root = data_root(args)
    rows = verification(args.names, root)
    if not rows:
        print(f"no dataset has data under {root} yet: `bench data list` shows what each needs, "
              "`bench data fetch NAME` gets one")
        return 0
    for name, status, path in rows:
        print(f"{name}: embedded, nothing to verify" if status == "embedded" else f"{name}: {status:7s} {path}")
    bad = [(name, status) for name, status, _ in rows if status not in (OK, "embedded")]
    if bad:
        names = list(dict.fromkeys(name for name, _ in bad))
        fetchable = [n for n in names if registry.datasets.get(n).factory().archives]
        manual = [n for n in names if n not in fetchable]
        how = [f"`bench data fetch {' '.join(fetchable)}` replaces what is missing or corrupt"] if fetchable else []
        how += [f"{', '.join(manual)} by hand (`bench data fetch {manual[0]}` prints the steps)"] if manual else []
        print(f"{len(bad)} problem(s) in {', '.join(names)}: {'; '.join(how)}", file=sys.stderr)
    return 1 if bad else 0


def fetch_command(args) -> int:
    from bench.datafiles import fetch_benchmark, manual_steps
    from bench.errors import UserError

    names = registry.datasets.select(",".join(args.names))  # unknown names fail first
    benchmarks = [registry.datasets.get(name).factory() for name in names]
    root = data_root(args, writable=True)
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


def finished_archives(names: list[str], root) -> list:
    """Downloaded archives (under the data root's `.downloads/`) of datasets whose declared
    files are all present and verify: unpacked, so no longer needed. Partial downloads stay
    (the next fetch resumes them)."""
    from bench.datafiles import DOWNLOADS, OK

    benchmarks = [registry.datasets.get(name).factory() for name in names] or [e.factory() for e in registry.datasets.entries()]
    found = []
    for benchmark in benchmarks:
        folder = benchmark.data_dir(root)
        archives = [root / DOWNLOADS / a.filename for a in benchmark.archives if a.is_tar]
        archives = [path for path in archives if path.is_file() and path not in found]
        if archives and all(f.status(folder) == OK for f in benchmark.data_files()):
            found += archives
    return found


def clean_command(args) -> int:
    root = data_root(args)
    archives = finished_archives(args.names, root)
    size = sum(path.stat().st_size for path in archives) / 2**20
    for path in archives:
        print(f"{'would delete' if args.dry_run else 'deleted'} {path}")
        if not args.dry_run:
            path.unlink()
    verb = "would free" if args.dry_run else "freed"
    print(f"{len(archives)} finished archive(s), {verb} {size:.1f} MiB" if archives else
          "nothing to clean: no finished archive of a verified dataset is kept")
    return 0
