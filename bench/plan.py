"""Plan: turn `bench run` arguments into cells, checking everything before anything runs.

`make_plan` is a pure function of its arguments and of what files exist: it expands names,
globs and groups, resolves each method's profile and the `--set` overrides, and fails with one
UserError when a name is unknown, a profile or parameter does not exist, a class is out of
range, or data or weights are missing. Datasets reached through a group (not named) whose data
is missing are skipped with a notice instead, unless `strict`.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bench import registry
from bench.cell import Cell
from bench.detector import Requirement, RunContext
from bench.errors import UserError
from bench.params import resolve_params


@dataclass(frozen=True)
class Override:
    """`--set TARGET.PARAM=VALUE`: TARGET is a method or dataset name or glob."""

    target: str
    param: str
    value: Any

    @classmethod
    def parse(cls, text: str) -> "Override":
        head, sep, raw = text.partition("=")
        target, dot, param = head.rpartition(".")
        if not sep or not dot or not target or not param:
            raise UserError(f"--set {text!r}: write NAME.PARAM=VALUE, e.g. --set dn2.k=3")
        return cls(target.strip(), param.strip(), parse_value(raw))


def parse_value(raw: str) -> Any:
    """A `--set` value: JSON (numbers, booleans, lists, objects), else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


@dataclass
class Plan:
    cells: list[Cell]
    # dataset reached through a group → its missing files; those cells were left out
    skipped: dict[str, list[Path]] = field(default_factory=dict)
    # method reached through a group → the input only its user can provide (a fake bank)
    skipped_methods: dict[str, str] = field(default_factory=dict)


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--seeds {text!r}: give comma-separated integers, e.g. --seeds 0,1,2") from None
    if not seeds:
        raise UserError("--seeds is empty: give at least one integer")
    return list(dict.fromkeys(seeds))


def parse_classes(text: str, dataset: str, classes: Sequence[str]) -> list[int]:
    """`all`, or a comma list of class indices or class names, checked against the dataset."""
    if text.strip() == "all":
        return list(range(len(classes)))
    chosen = []
    for token in (t.strip() for t in text.split(",") if t.strip()):
        if token.isdigit() and int(token) < len(classes):
            chosen.append(int(token))
        elif token in classes:
            chosen.append(classes.index(token))
        else:
            raise UserError(
                f"--classes {token!r} is not a class of {dataset}: use 0–{len(classes) - 1} or a name "
                f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})"
            )
    return list(dict.fromkeys(chosen))


def _apply_overrides(
    kind: str, name: str, cls: type, base: dict, overrides: Sequence[Override], used: set[int], profile: str
) -> dict:
    values = dict(base)
    for index, override in enumerate(overrides):
        if fnmatch.fnmatchcase(name, override.target):
            values[override.param] = override.value
            used.add(index)
    try:
        params = resolve_params(cls, values)
        cls.check_params(params, profile)
    except (ValueError, UserError) as error:
        raise UserError(f"{kind} {name}: {error}") from None
    return params


def _missing_data_message(name: str, benchmark, missing: list[Path], data_root: Path) -> str:
    files = ", ".join(str(p.relative_to(benchmark.data_dir(data_root))) for p in missing[:4])
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    return (
        f"dataset {name}: missing {files}{more} in {benchmark.data_dir(data_root)}; "
        f"get it with `bench data fetch {name}`{' (' + benchmark.fetch_hint + ')' if benchmark.fetch_hint else ''}"
    )


@dataclass
class Selection:
    """The methods and datasets of a sweep, with their resolved parameters."""

    profile: str
    method_params: dict[str, dict]
    dataset_params: dict[str, dict]
    named_datasets: set[str]  # named in the spec, not reached through a group or glob
    named_methods: set[str]  # named in the spec or the target of a --set

    def benchmark(self, name: str):
        return registry.datasets.get(name).factory(**self.dataset_params[name])

    def missing_data(self, data_root: Path, classes: str = "all") -> dict[str, list[Path]]:
        """Dataset → the files its selected normal classes need and lack, for datasets with any."""
        missing = {
            name: self.benchmark(name).missing_files(
                data_root, parse_classes(classes, name, registry.datasets.get(name).factory.classes)
            )
            for name in self.dataset_params
        }
        return {name: files for name, files in missing.items() if files}

    def missing_weights(self, data_root: Path) -> dict[Path, tuple[Requirement, list[str]]]:
        """Missing file → (its requirement, the methods needing it)."""
        ctx = RunContext(profile=self.profile, data_root=data_root)
        missing: dict[Path, tuple[Requirement, list[str]]] = {}
        for name, params in self.method_params.items():
            for requirement in registry.methods.get(name).factory.requirements(params, ctx):
                if not requirement.present:
                    missing.setdefault(requirement.path, (requirement, []))[1].append(name)
        return missing


def select(methods: str, datasets: str, *, profile: str = "smoke", overrides: Sequence[str] = ()) -> Selection:
    """Expand the specs and resolve every parameter; unknown names, profiles or parameters
    and `--set` targets that match nothing are UserErrors."""
    parsed = [Override.parse(text) for text in overrides]
    used: set[int] = set()  # indices of the overrides that matched something
    method_params = {}
    for name in registry.methods.select(methods):
        cls = registry.methods.get(name).factory
        if profile not in cls.profiles:
            raise UserError(f"method {name} has no profile {profile!r} (it has: {', '.join(cls.profiles)})")
        method_params[name] = _apply_overrides("method", name, cls, cls.profiles[profile], parsed, used, profile)
    dataset_params = {
        name: _apply_overrides("dataset", name, registry.datasets.get(name).factory, {}, parsed, used, profile)
        for name in registry.datasets.select(datasets)
    }
    unused = [o for index, o in enumerate(parsed) if index not in used]
    if unused:
        raise UserError(
            f"--set {unused[0].target}.{unused[0].param}: {unused[0].target!r} matches no selected method or dataset"
        )
    named = {token.strip() for token in datasets.split(",")} & set(dataset_params)
    named_methods = ({token.strip() for token in methods.split(",")} | {o.target for o in parsed}) & set(method_params)
    return Selection(profile, method_params, dataset_params, named, named_methods)


def make_plan(
    methods: str = registry.ALL,
    datasets: str = "digits",
    *,
    classes: str = "all",
    seeds: str = "0",
    profile: str = "smoke",
    overrides: Sequence[str] = (),
    data_root: Path = Path("."),
    strict: bool = False,
) -> Plan:
    selection = select(methods, datasets, profile=profile, overrides=overrides)
    seed_list = parse_seeds(seeds)
    skipped = selection.missing_data(data_root, classes)
    for name, missing in skipped.items():
        if name in selection.named_datasets or strict:
            raise UserError(_missing_data_message(name, selection.benchmark(name), missing, data_root))
    missing = selection.missing_weights(data_root)
    skipped_methods = {} if strict else user_inputs_of_unnamed(missing, selection.named_methods)
    _raise_missing_weights(missing)

    cells = []
    methods_to_run = [name for name in selection.method_params if name not in skipped_methods]
    for dataset, params in selection.dataset_params.items():
        if dataset in skipped:
            continue
        class_names = registry.datasets.get(dataset).factory.classes
        for method, normal_class, seed in itertools.product(
            methods_to_run, parse_classes(classes, dataset, class_names), seed_list
        ):
            cells.append(
                Cell(
                    method=method,
                    dataset=dataset,
                    normal_class=normal_class,
                    seed=seed,
                    profile=profile,
                    method_params=selection.method_params[method],
                    dataset_params=params,
                    class_name=class_names[normal_class],
                )
            )
    return Plan(cells=cells, skipped=skipped, skipped_methods=skipped_methods)


def user_inputs_of_unnamed(missing: dict[Path, tuple[Requirement, list[str]]], named: set[str]) -> dict[str, str]:
    """Take out of `missing` the files no command can fetch (a fake bank only the user has)
    needed only by methods reached through a group: those methods are skipped, not errors.
    Returns method → what it lacks."""
    skipped = {}
    for path, (requirement, users) in list(missing.items()):
        if requirement.fetch is None and not set(users) & named:
            skipped.update({user: f"{requirement.what}; {requirement.how_to_get}" for user in users})
            del missing[path]
    return skipped


def _raise_missing_weights(missing: dict[Path, tuple[Requirement, list[str]]]) -> None:
    """Every missing weight file of every selected method, in one error."""
    if missing:
        requirement, users = next(iter(missing.values()))
        others = f" ({len(missing) - 1} more file(s) missing)" if len(missing) > 1 else ""
        elsewhere = f", or pass --set {users[0]}.{requirement.param}=PATH" if requirement.param else ""
        raise UserError(
            f"{requirement.what} for {', '.join(users)} not found at {requirement.path}{others}: "
            f"{requirement.how_to_get}{elsewhere}"
        )
