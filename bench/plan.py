"""Plan: turn `bench run` arguments into cells, checking everything before anything runs.

`make_plan` is a pure function of its arguments and of what files exist: it expands names,
globs and groups, resolves each method's profile for each dataset (profile variants keyed on
the dataset's tags) and the `--set` overrides, reads the methods' tags, and fails with one
UserError when a name is unknown, a profile or parameter does not exist or cannot work, a
class is out of range, or a method's parameters cannot fit (`check_resources`, whose estimates
become notices) — and with one `MissingInputs` listing everything the sweep lacks (data,
weights, files only the user has, present data that cannot be used). Datasets reached through
a group (not named) whose data is missing are skipped with a notice instead, unless `strict`.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from bench import inputs, registry
from bench.cell import Cell
from bench.context import RunContext
from bench.errors import UserError
from bench.inputs import Lacking, MissingInputs
from bench.params import resolve_params, resolve_profile
from bench.requirements import Requirement
from bench.validation import SEED_LIMIT, check_values


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

    def applies_to(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.target)


def parse_value(raw: str) -> Any:
    """A `--set` value: JSON (numbers, booleans, lists, objects), else the text itself.
    Text that starts like a JSON object, list or string but does not parse is a UserError:
    an unclosed `{` is a typo, not a word."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        if raw.strip()[:1] in ("{", "[", '"'):
            raise UserError(f"--set value {raw!r} is not valid JSON ({error.msg} at character {error.pos}): "
                            "close its brackets and quotes, e.g. '{\"train_steps\": 500}'") from None
        return raw


@dataclass
class Plan:
    cells: list[Cell]
    # dataset reached through a group → its missing files; those cells were left out
    skipped: dict[str, list[Path]] = field(default_factory=dict)
    # method reached through a group → the input only its user can provide (a fake bank)
    skipped_methods: dict[str, str] = field(default_factory=dict)
    # one line each: what a method's parameters need on a dataset (memory estimates)
    notices: list[str] = field(default_factory=list)


def parse_seeds(text: str) -> list[int]:
    """A comma list of seeds, each in [0, 2³²) (what numpy and torch take).

    >>> parse_seeds("0,1,1")
    [0, 1]
    """
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--seeds {text!r}: give comma-separated integers, e.g. --seeds 0,1,2") from None
    if not seeds:
        raise UserError("--seeds is empty: give at least one integer, e.g. --seeds 0")
    bad = [seed for seed in seeds if not 0 <= seed < SEED_LIMIT]
    if bad:
        raise UserError(f"--seeds {bad[0]}: a seed must be in [0, {SEED_LIMIT}) (numpy and torch take 32-bit seeds)")
    return list(dict.fromkeys(seeds))


def parse_classes(text: str, dataset: str, classes: Sequence[str]) -> list[int]:
    """`all`, or a comma list of class indices or class names, checked against the dataset.

    >>> parse_classes("cat,0,cat", "cifar10", ("airplane", "automobile", "bird", "cat"))
    [3, 0]
    """
    if text.strip() == "all":
        return list(range(len(classes)))
    if not text.strip(" ,"):
        raise UserError(f"--classes is empty: give `all`, or class indices or names of {dataset}, e.g. --classes 0,3")
    chosen = []
    for token in (t.strip() for t in text.split(",") if t.strip()):
        if token.isdigit() and int(token) < len(classes):
            chosen.append(int(token))
        elif token in classes:
            chosen.append(list(classes).index(token))
        else:
            raise UserError(
                f"--classes {token!r} is not a class of {dataset}: use 0–{len(classes) - 1} or a name "
                f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})"
            )
    return list(dict.fromkeys(chosen))


@dataclass
class Selection:
    """The methods and datasets of a sweep, with their resolved parameters.

    A method's parameters may depend on the dataset (profile variants such as
    `paper+high-res`); `method_params(method, dataset)` resolves them.
    """

    profile: str
    methods: list[str]
    dataset_params: dict[str, dict]
    overrides: list[Override]
    named_datasets: set[str]  # named in the spec, not reached through a group or glob
    named_methods: set[str]  # named in the spec or the target of a --set
    _resolved: dict = field(default_factory=dict, repr=False)

    def benchmark(self, name: str):
        return registry.datasets.get(name).factory(**self.dataset_params[name])

    def method_params(self, method: str, dataset: str | None = None) -> dict:
        """`method`'s resolved parameters for the cells of `dataset` (None: no dataset tags)."""
        key = (method, dataset)
        if key not in self._resolved:
            cls = registry.methods.get(method).factory
            values = {o.param: o.value for o in self.overrides if o.applies_to(method)}
            tags = tuple(registry.datasets.get(dataset).factory.tags) if dataset else ()
            params = resolve_profile("method", method, cls, self.profile, values, tags)
            if dataset is not None:
                try:
                    params = cls.for_dataset(params, self.profile, registry.datasets.get(dataset).factory)
                except (ValueError, UserError) as error:
                    raise UserError(f"method {method} on {dataset}: {error}") from None
            self._resolved[key] = params
        return self._resolved[key]

    def missing_data(self, data_root: Path, classes: str = "all") -> dict[str, list[Path]]:
        """Dataset → the files its selected normal classes need and lack, for datasets with any."""
        missing = {
            name: self.benchmark(name).missing_files(
                data_root, parse_classes(classes, name, registry.datasets.get(name).factory.classes)
            )
            for name in self.dataset_params
        }
        return {name: files for name, files in missing.items() if files}

    def requirements(self, data_root: Path) -> Iterable[tuple[str, Requirement]]:
        """(method, requirement) for every file every selected method needs on every dataset."""
        ctx = RunContext(profile=self.profile, data_root=data_root)
        for name in self.methods:
            cls = registry.methods.get(name).factory
            for dataset in self.dataset_params or [None]:
                for requirement in cls.requirements(self.method_params(name, dataset), ctx):
                    yield name, requirement

    def missing_weights(self, data_root: Path) -> dict[Path, tuple[Requirement, list[str]]]:
        """Missing file → (its requirement, the methods needing it)."""
        missing: dict[Path, tuple[Requirement, list[str]]] = {}
        for name, requirement in self.requirements(data_root):
            if not requirement.present:
                users = missing.setdefault(requirement.path, (requirement, []))[1]
                if name not in users:
                    users.append(name)
        return missing

    def lacking(self, data_root: Path, classes: str = "all", strict: bool = False
                ) -> tuple[dict[str, list[Path]], dict[str, str], list[Lacking]]:
        """Everything the sweep lacks, in one pass: (datasets reached through a group whose
        data is missing, to skip; methods reached through a group whose user-only input is
        missing, to skip; everything else that is missing or unusable — the plan's errors)."""
        lacking, skipped = [], {}
        missing_data = self.missing_data(data_root, classes)
        for name, files in missing_data.items():
            if name in self.named_datasets or strict:
                lacking.append(inputs.missing_data(name, self.benchmark(name), files, data_root))
            else:
                skipped[name] = files
        for name in self.dataset_params:
            if name not in missing_data:  # present: usable for the selected classes?
                benchmark = self.benchmark(name)
                lacking += benchmark.data_problems(data_root, parse_classes(classes, name, benchmark.class_names(data_root)))
        missing = self.missing_weights(data_root)
        skipped_methods = {} if strict else user_inputs_of_unnamed(missing, self.named_methods)
        lacking += [inputs.missing_file(requirement, users) for requirement, users in missing.values()]
        lacking += [Lacking(why, path, f"needed by {', '.join(users)}")
                    for path, (why, users) in self.unusable_inputs(data_root).items()]
        return skipped, skipped_methods, lacking

    def unusable_inputs(self, data_root: Path) -> dict[Path, tuple[str, list[str]]]:
        """Present file that its `check` refuses → (why, the methods needing it)."""
        checked: dict[Path, str | None] = {}
        problems: dict[Path, tuple[str, list[str]]] = {}
        for name, requirement in self.requirements(data_root):
            if requirement.path not in checked:
                checked[requirement.path] = requirement.problem()
            why = checked[requirement.path]
            if why and name not in problems.setdefault(requirement.path, (why, []))[1]:
                problems[requirement.path][1].append(name)
        return problems


def select(methods: str, datasets: str, *, profile: str = "smoke", overrides: Sequence[str] = ()) -> Selection:
    """Expand the specs and resolve every parameter; unknown names, profiles or parameters
    and `--set` targets that match nothing are UserErrors."""
    parsed = [Override.parse(text) for text in overrides]
    method_names = registry.methods.select(methods)
    dataset_names = registry.datasets.select(datasets)
    dataset_params = {}
    for name in dataset_names:
        values = {o.param: o.value for o in parsed if o.applies_to(name)}
        cls = registry.datasets.get(name).factory
        try:
            dataset_params[name] = resolve_params(cls, values)
            check_values(cls, dataset_params[name])
            cls.check_params(dataset_params[name], profile)
        except (ValueError, UserError) as error:
            raise UserError(f"dataset {name}: {error}") from None
    unused = [o for o in parsed if not any(o.applies_to(n) for n in [*method_names, *dataset_names])]
    if unused:
        raise UserError(
            f"--set {unused[0].target}.{unused[0].param}: {unused[0].target!r} matches no selected method or dataset"
        )
    aliases = registry.methods.aliases()
    spec_names = {aliases.get(token.strip(), token.strip()) for token in methods.split(",")}
    named = {token.strip() for token in datasets.split(",")} & set(dataset_params)
    named_methods = (spec_names | {o.target for o in parsed}) & set(method_names)
    selection = Selection(profile, method_names, dataset_params, parsed, named, named_methods)
    for method in method_names:  # every (method, dataset variant) resolves, or the plan fails here
        for dataset in dataset_names:
            selection.method_params(method, dataset)
    return selection


def check_image_sizes(selection: Selection) -> None:
    """Each method's working resolution (`image_size`) against its `min_image_size` tag."""
    for method, dataset in itertools.product(selection.methods, selection.dataset_params):
        tags = registry.methods.get(method).factory.tags
        size = selection.method_params(method, dataset).get("image_size")
        if isinstance(size, int) and size < tags.min_image_size:
            raise UserError(
                f"method {method} works at image_size {size} px on {dataset}, but its networks need at least "
                f"{tags.min_image_size}: --set {method}.image_size={tags.min_image_size}"
            )


def resource_notices(selection: Selection) -> list[str]:
    """Each method's `check_resources` for each dataset (its largest class's training
    images): notices to print, or a UserError for parameters that cannot fit."""
    notices = []
    for method, dataset in itertools.product(selection.methods, selection.dataset_params):
        cls = registry.methods.get(method).factory
        try:
            note = cls.check_resources(selection.method_params(method, dataset),
                                       selection.benchmark(dataset).max_train_images)
        except ValueError as error:
            raise UserError(f"method {method} on {dataset}: {error}") from None
        if note:
            notices.append(f"notice: {method} on {dataset}: {note}")
    return notices


def gpu_profile_notice(cells: Iterable[Cell]) -> str | None:
    """A one-line warning when cells use profiles their methods tag as sized for a GPU (the
    caller decides that the cells will run on a CPU)."""
    heavy = sorted({c.method for c in cells if c.profile in registry.methods.get(c.method).factory.tags.gpu_profiles})
    if not heavy:
        return None
    return (f"notice: the {next(iter({c.profile for c in cells}))} profile of {', '.join(heavy)} is sized for a GPU; "
            "on a CPU these cells take hours (--profile smoke runs the same code small)")


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
    check_image_sizes(selection)
    notices = resource_notices(selection)
    skipped, skipped_methods, lacking = selection.lacking(data_root, classes, strict)
    if lacking:
        raise MissingInputs(lacking)
    check_inputs(selection, [m for m in selection.methods if m not in skipped_methods],
                 [d for d in selection.dataset_params if d not in skipped], classes, data_root)

    cells = []
    methods_to_run = [name for name in selection.methods if name not in skipped_methods]
    for dataset, params in selection.dataset_params.items():
        if dataset in skipped:
            continue
        benchmark = selection.benchmark(dataset)
        class_names = benchmark.class_names(data_root)
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
                    method_params=selection.method_params(method, dataset),
                    dataset_params=params,
                    class_name=class_names[normal_class],
                )
            )
    return Plan(cells=cells, skipped=skipped, skipped_methods=skipped_methods, notices=notices)


def check_inputs(selection: Selection, methods: list[str], datasets: list[str], classes: str, data_root: Path) -> None:
    """Each method's `check_inputs` on each dataset's selected classes (what its input files
    hold against the data); a ValueError becomes one UserError naming method and dataset."""
    for method, dataset in itertools.product(methods, datasets):
        benchmark = selection.benchmark(dataset)
        chosen = parse_classes(classes, dataset, benchmark.class_names(data_root))
        try:
            registry.methods.get(method).factory.check_inputs(
                selection.method_params(method, dataset), benchmark, chosen, data_root)
        except (ValueError, UserError) as error:
            raise UserError(f"method {method} on {dataset}: {error}") from None


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
