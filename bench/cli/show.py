"""`bench show KEY|LABEL`: the resolved parameters of a cell, or of a configuration label."""

from __future__ import annotations

import argparse
import json
import re

from bench import paths, registry
from bench.metrics import LEGACY_METRIC_NAMES, SCALAR_METRICS

EPILOG = """\
examples:
  bench show digits/dn2/smoke-f4de547355/c3-s0     a cell: its record's parameters, data and code
  bench show dn2@smoke#a2327f                       a configuration as `bench table` labels it
  bench show dn2@paper                              a method's parameters under a profile
  bench show digits-fsde                            a dataset's parameters (records' or defaults)
"""
LABEL = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)(?:@(?P<profile>[A-Za-z0-9_+-]+))?(?:#(?P<hash>[0-9a-f]+))?$")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show the resolved parameters of a cell key or of a configuration label",
        description="Show what a cell key (`digits/dn2/smoke-…/c3-s0`) or a label of `bench table` (`dn2@smoke#a2327f`, "
        "`digits#4d5e6f`) stands for: the resolved method and dataset parameters, from the records under the "
        "results root, or from the registry's profiles when there are none.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", metavar="KEY|LABEL", help="a cell key (or a record's path) or a configuration label")
    parser.add_argument("--results", help="results root (default: $BENCH_RESULTS or ./results)")
    parser.set_defaults(func=main)


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def describe_record(record: dict) -> list[str]:
    cell = record["cell"]
    lines = [
        f"cell        {cell['key']}",
        f"status      {record['status']}",
        f"method      {cell['method']} (profile {cell['profile']}, #{cell['method_hash'][:6]})",
        f"parameters  {_json(cell.get('method_params', {}))}",
        f"dataset     {cell['dataset']} (#{cell['dataset_hash'][:6]}), normal class {cell['normal_class']} "
        f"({cell.get('class_name', '')}), seed {cell['seed']}",
        f"dataset parameters  {_json(cell.get('dataset_params', {}))}",
    ]
    if record.get("metrics"):
        metrics = record["metrics"]
        named = {LEGACY_METRIC_NAMES.get(name, name): value for name, value in metrics.items()}
        lines.append("metrics     " + ", ".join(f"{m} {100 * named[m]:.1f}%" for m in SCALAR_METRICS if m in named))
    if record.get("error"):
        lines.append(f"error       {record['error'].get('type')}: {record['error'].get('message')}")
    if record.get("data"):
        lines.append(f"data        fingerprint {record['data'].get('fingerprint')}")
    if record.get("code"):
        modules = record["code"].get("method", {}).get("modules", {})
        lines.append(f"code        {len(modules)} module(s) of {cell['method']}; generators: "
                     f"{', '.join(record['code'].get('generators', {})) or 'none'}")
    return lines


def describe_label(name: str, profile: str | None, hash_prefix: str | None, records: list[dict]) -> list[str]:
    """The configurations of method or dataset `name` that the label selects, from the records;
    a method's profile from the registry when no record has it."""
    from bench.errors import UserError

    is_method = any(r["cell"]["method"] == name for r in records) or name in registry.methods
    field, hash_field, params_field = ("method", "method_hash", "method_params") if is_method else \
        ("dataset", "dataset_hash", "dataset_params")
    configurations: dict[tuple, list[dict]] = {}
    for record in records:
        cell = record["cell"]
        if cell[field] != name or (profile and is_method and cell["profile"] != profile) \
                or (hash_prefix and not cell[hash_field].startswith(hash_prefix)):
            continue
        configurations.setdefault((cell["profile"] if is_method else "", cell[hash_field]), []).append(cell)
    if not configurations:
        if is_method and name in registry.methods and not hash_prefix:
            from bench.plan import select

            chosen = profile or "smoke"
            params = select(name, "digits", profile=chosen).method_params(name)
            return [f"method      {name} (profile {chosen}; no record under the results root: the registry's values)",
                    f"parameters  {_json(params)}"]
        if name in registry.datasets and not hash_prefix:
            from bench.params import resolve_params

            params = resolve_params(registry.datasets.get(name).factory, {})
            return [f"dataset     {name} (no record under the results root: its defaults)",
                    f"parameters  {_json(params)}"]
        raise UserError(f"no record of {name}{'@' + profile if profile else ''}{'#' + hash_prefix if hash_prefix else ''}"
                        " under the results root: `bench table` lists the labels there")
    lines = []
    for (config_profile, config_hash), cells in sorted(configurations.items()):
        label = f"{name}{'@' + config_profile if config_profile else ''}#{config_hash[:6]}"
        classes = sorted({c["normal_class"] for c in cells})
        seeds = sorted({c["seed"] for c in cells})
        lines += [f"{field:<11} {label} ({len(cells)} record(s): classes {', '.join(map(str, classes))}; "
                  f"seeds {', '.join(map(str, seeds))})",
                  f"parameters  {_json(cells[0][params_field])}"]
    return lines


def main(args) -> int:
    from bench.errors import UserError
    from bench.store import NotARecord, Store, parse_record

    store = Store(paths.results_dir(args.results))
    what = args.what.strip()
    candidate = store.path(what.removesuffix(".json")) if not what.endswith(".json") or "/" in what else None
    from pathlib import Path

    given = Path(what).expanduser() if what.endswith(".json") else None  # a record's path, from here
    for path in (p for p in (candidate, paths.results_dir(args.results) / what, given) if p is not None):
        if path.is_file():
            try:
                print("\n".join(describe_record(parse_record(path.read_bytes()))))
            except NotARecord as error:
                raise UserError(f"{path}: {error}") from None
            return 0
    match = LABEL.match(what)
    if "/" in what or match is None:
        raise UserError(f"{what!r}: no record with this key under {store.root}, and not a label like dn2@smoke#a2327f")
    records = store.scan().records
    print("\n".join(describe_label(match["name"], match["profile"], match["hash"], records)))
    return 0
