"""`bench list [methods|datasets|generators|groups] [PATTERN ...]`: what is registered."""

from __future__ import annotations

import fnmatch

from bench import paths, registry

WHAT = ("methods", "datasets", "generators", "groups")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list methods, datasets, generators or groups",
        description="List registered methods, datasets (with groups, profiles, data presence), fake generators "
        "or groups.",
    )
    parser.add_argument("what", nargs="?", choices=WHAT, default="methods", help="what to list (default: methods)")
    parser.add_argument("patterns", nargs="*", metavar="SPEC",
                        help="names, globs or groups as in `bench run`, e.g. 'pyod-*' or 'all,-pyod-*'")
    parser.add_argument("--data-root", help="where datasets live (default: $BENCH_DATA or ~/.cache/nearbench/data)")
    parser.set_defaults(func=main)


def _selected(reg, patterns: list[str]) -> set[str]:
    """The registered names the SPECs select (`Registry.match`); all of them without SPECs."""
    names = reg.names()
    return set(reg.match(",".join(patterns), names)) if patterns else set(names)


def _matches(name: str, patterns: list[str]) -> bool:
    """Globs on a group name; a leading '-' removes."""
    tokens = [t for p in patterns for t in p.split(",") if t.strip()]
    keep = not tokens or any(not t.startswith("-") and fnmatch.fnmatchcase(name, t) for t in tokens) \
        or all(t.startswith("-") for t in tokens)
    return keep and not any(t.startswith("-") and fnmatch.fnmatchcase(name, t[1:]) for t in tokens)


def method_rows(patterns: list[str]) -> list[list[str]]:
    chosen = _selected(registry.methods, patterns)
    return [
        [e.name, ", ".join(e.groups) or "-", ", ".join(e.factory.profiles), e.description]
        for e in registry.methods.entries()
        if e.name in chosen
    ]


def generator_rows(patterns: list[str]) -> list[list[str]]:
    from bench.generators import generators

    chosen = _selected(generators, patterns)
    return [[e.name, ", ".join(e.factory.profiles), e.description] for e in generators.entries() if e.name in chosen]


VARIANTS_NOTE = (
    "variants: every dataset D also has D-fsde and D-fsgan (D's held-out normal test images against as many fakes "
    "from a diffusion model / DCGAN trained on the class) and, where its anomalies come in classes, D-worst (the worst "
    "AUROC over them); name them, or glob them ('*-fsde'). The near group lists the registered near sets only."
)


def dataset_rows(patterns: list[str], data_root) -> list[list[str]]:
    variants: dict[str, list[str]] = {}
    for suffix, bases in registry.datasets.derivations().items():
        for base in bases:
            variants.setdefault(base, []).append(suffix)
    rows = []
    chosen = _selected(registry.datasets, patterns)
    for e in registry.datasets.entries():
        if e.name not in chosen:
            continue
        benchmark = e.factory()
        if benchmark.embedded:
            data = "embedded"
        else:
            data = "present" if not benchmark.missing_files(data_root) else "missing"
        rows.append([e.name, ", ".join(e.groups) or "-", str(len(e.factory.classes)), data,
                     " ".join(variants.get(e.name, [])) or "-", e.description])
    return rows


def group_rows(patterns: list[str]) -> list[list[str]]:
    rows = []
    for kind, reg in (("method", registry.methods), ("dataset", registry.datasets)):
        for group, members in reg.groups().items():
            if _matches(group, patterns):
                rows.append([group, kind, str(len(members)), ", ".join(members)])
    return rows


def main(args) -> int:
    from tabulate import tabulate

    if args.what == "methods":
        rows, headers = method_rows(args.patterns), ["method", "groups", "profiles", "description"]
    elif args.what == "datasets":
        rows = dataset_rows(args.patterns, paths.data_root(args.data_root))
        headers = ["dataset", "groups", "classes", "data", "variants", "description"]
    elif args.what == "generators":
        rows, headers = generator_rows(args.patterns), ["generator", "profiles", "description"]
    else:
        rows, headers = group_rows(args.patterns), ["group", "of", "size", "members"]
    print(tabulate(rows, headers=headers, tablefmt="simple"))
    if args.what == "datasets":
        print(f"\n{VARIANTS_NOTE}")
    return 0
