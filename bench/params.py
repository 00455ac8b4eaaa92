"""Hyper-parameters read from `__init__` signatures, as scikit-learn does."""

from __future__ import annotations

import inspect
from typing import Any, Mapping


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


class HasParams:
    """`get_params` and a readable repr for classes whose `__init__` only stores parameters."""

    @classmethod
    def check_params(cls, params: Mapping[str, Any], profile: str) -> None:
        """Raise ValueError for resolved values no run could use; the planner calls this
        before anything runs. The default accepts everything."""

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in parameter_defaults(type(self))}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def validate_profiles(kind: str, base: type, name: str, cls: type, required: tuple = ("smoke", "paper")) -> None:
    """Registration-time checks of a profiled plug-in (method, generator): a subclass of
    `base` whose `profiles` include `required`, each naming only real parameters."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{kind} {name!r}: {cls!r} is not a {base.__module__}.{base.__name__}")
    missing = [p for p in required if p not in cls.profiles]
    if missing:
        raise TypeError(f"{kind} {name!r} has no {' or '.join(missing)} profile")
    for profile, values in cls.profiles.items():
        try:
            resolve_params(cls, values)
        except ValueError as error:
            raise TypeError(f"{kind} {name!r}, profile {profile!r}: {error}") from None
