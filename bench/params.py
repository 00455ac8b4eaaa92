"""Hyper-parameters read from `__init__` signatures, as scikit-learn does, and profiles.

A plug-in class (method, generator, dataset) lists its hyper-parameters as keyword arguments
of `__init__` and, for methods and generators, named `profiles` of values. A profile entry
named `PROFILE+TAG` holds extra values applied on top of `PROFILE` for cells whose dataset
carries tag `TAG` (for example `paper+high-res`, a recipe for high-resolution sets).
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable, Mapping

from bench.errors import UserError
from bench.validation import check_values

VARIANT = "+"  # `paper+high-res`: the paper profile's values for datasets tagged high-res


def parameter_defaults(cls: type) -> dict[str, Any]:
    """Keyword parameters of `cls.__init__` with their defaults (required ones map to None)."""
    signature = inspect.signature(cls.__init__)
    return {
        name: (None if p.default is inspect.Parameter.empty else p.default)
        for name, p in signature.parameters.items()
        if name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def resolve_params(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults of `cls` updated with `values`; an unknown name is a ValueError."""
    defaults = parameter_defaults(cls)
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise ValueError(f"{cls.__name__} has no parameter {', '.join(unknown)} (it has: {known})")
    return {**defaults, **values}


def profile_names(cls: type) -> list[str]:
    """The profiles a user can ask for (`smoke`, `paper`, ...), without dataset variants."""
    return [name for name in cls.profiles if VARIANT not in name]


def profile_values(cls: type, profile: str, dataset_tags: Iterable[str] = ()) -> dict[str, Any]:
    """The values of `profile`, with each `profile+TAG` entry whose tag is in `dataset_tags`
    applied on top, in the order the class lists them.

    >>> class Recipe:
    ...     profiles = {"paper": {"lr": 4e-4, "epochs": 30}, "paper+high-res": {"lr": 5e-3, "epochs": 150}}
    >>> profile_values(Recipe, "paper")
    {'lr': 0.0004, 'epochs': 30}
    >>> profile_values(Recipe, "paper", dataset_tags=("high-res",))
    {'lr': 0.005, 'epochs': 150}
    """
    values = dict(cls.profiles[profile])
    tags = set(dataset_tags)
    for name, extra in cls.profiles.items():
        base, sep, tag = name.partition(VARIANT)
        if sep and base == profile and tag in tags:
            values.update(extra)
    return values


def resolve_profile(
    kind: str, name: str, cls: type, profile: str, overrides: Mapping[str, Any] | None = None,
    dataset_tags: Iterable[str] = (),
) -> dict[str, Any]:
    """The resolved hyper-parameters of plug-in `name` (a `kind`: method, generator) under
    `profile` for a dataset with `dataset_tags`, plus `overrides`, checked against their
    declared types and ranges (`bench.validation`) and by the class's `check_params`.
    Raises UserError naming the plug-in and the fix."""
    if profile not in profile_names(cls):
        raise UserError(f"{kind} {name} has no profile {profile!r} (it has: {', '.join(profile_names(cls))})")
    try:
        params = resolve_params(cls, {**profile_values(cls, profile, dataset_tags), **(overrides or {})})
        check_values(cls, params)
        cls.check_params(params, profile)
    except (ValueError, UserError) as error:
        raise UserError(f"{kind} {name}: {error}") from None
    return params


class HasParams:
    """`get_params` and a readable repr for classes whose `__init__` only stores parameters."""

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        """Raise ValueError for resolved values no run could use; the planner calls this
        before anything runs. The default accepts everything."""

    @classmethod
    def for_dataset(cls, params: Mapping[str, Any], profile: str, dataset: type) -> dict[str, Any]:
        """The resolved values completed for the cells of `dataset` (a `Benchmark` class, with
        its `image_size`, `tags` and `classes`): the planner calls this after `check_params`,
        so values that follow the data (a fake generator's resolution) are in the cell, its
        record and `bench run --dry-run`. Raise ValueError when the values contradict the
        dataset. The default returns them unchanged."""
        return dict(params)

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in parameter_defaults(type(self))}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def validate_profiles(kind: str, base: type, name: str, cls: type, required: tuple = ("smoke", "paper")) -> None:
    """Registration-time checks of a profiled plug-in (method, generator): a subclass of
    `base` whose `profiles` include `required`, each naming only real parameters, and whose
    variants (`PROFILE+TAG`) extend a profile it has."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{kind} {name!r}: {cls!r} is not a {base.__module__}.{base.__name__}")
    missing = [p for p in required if p not in cls.profiles]
    if missing:
        raise TypeError(f"{kind} {name!r} has no {' or '.join(missing)} profile")
    for profile, values in cls.profiles.items():
        base_profile, sep, tag = profile.partition(VARIANT)
        if sep and (base_profile not in cls.profiles or not tag):
            raise TypeError(f"{kind} {name!r}: variant {profile!r} must read PROFILE{VARIANT}TAG of a profile it has")
        try:
            resolve_params(cls, values)
        except ValueError as error:
            raise TypeError(f"{kind} {name!r}, profile {profile!r}: {error}") from None
