"""What the three suites share: bound checks, the pytest helper, the fit cache, and the checks
of `__init__` that methods and generators both follow."""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Mapping

from bench.digest import canonical_json
from bench.params import parameter_defaults

MISSING = object()


@dataclass(frozen=True, eq=False)
class BoundCheck:
    """One check applied to one plug-in: call it to run the check.

    `subject` names the plug-in (its registered name), `check` is the plain check function,
    `expected_failure` the reason the plug-in declares for failing it (None: it must pass).
    """

    subject: str
    check: Callable[[Any], None]
    case: Any
    expected_failure: str | None = None

    @property
    def id(self) -> str:
        """`<subject>-<check name>`: the pytest id."""
        return f"{self.subject}-{self.check.__name__}"

    def __call__(self) -> None:
        self.check(self.case)

    def __repr__(self) -> str:
        return f"<{self.id}>"


def bind(subject: str, case: Any, checks: Iterable[Callable], expected: Mapping[str, str] | None):
    """(check, BoundCheck) pairs for `case`; `expected` maps check names to reasons."""
    checks = list(checks)
    expected = dict(expected or {})
    unknown = sorted(set(expected) - {check.__name__ for check in checks})
    if unknown:
        raise ValueError(f"{subject}: expected_failures names no check of this suite: {', '.join(unknown)}")
    for check in checks:
        yield check, BoundCheck(subject, check, case, expected.get(check.__name__))


def parametrize_with_checks(*checks: Iterable[tuple[Callable, BoundCheck]], argname: str = "check"):
    """A `pytest.mark.parametrize` over the bound checks of `checks` (iterables of the pairs
    `method_checks`, `generator_checks` and `dataset_checks` yield), with ids
    `<subject>-<check name>`; a declared expected failure becomes a strict xfail with its
    reason. The test receives the bound check as `argname` and calls it."""
    import pytest

    params = []
    for pairs in checks:
        for _, bound in pairs:
            marks = [pytest.mark.xfail(reason=bound.expected_failure, strict=True)] if bound.expected_failure else []
            params.append(pytest.param(bound, id=bound.id, marks=marks))
    return pytest.mark.parametrize(argname, params)


@dataclass
class Fit:
    """What one fit showed: what `fit` returned, the canonical JSON of the instance's
    parameters before and after `fit`, and what the fitted instance then made (a detector's
    scores, a generator's fakes) — or the error `fit` or that step raised, raised again by the
    checks that need them."""

    returned: Any = None
    params_before: str = ""
    params_after: str = ""
    fit_error: BaseException | None = None
    made: Any = None
    make_error: BaseException | None = None

    def fitted(self) -> "Fit":
        if self.fit_error is not None:
            raise self.fit_error
        return self

    def output(self) -> Any:
        self.fitted()
        if self.make_error is not None:
            raise self.make_error
        return self.made


def fit_then(record: Fit, instance, fit: Callable[[], Any], make: Callable[[], Any]) -> Fit:
    """Fill `record` from `fit()` on `instance`, then — if it fitted — from `make()`."""
    record.params_before = canonical_json(instance.get_params())
    try:
        record.returned = fit()
    except Exception as error:
        record.fit_error = error
        return record
    record.params_after = canonical_json(instance.get_params())
    try:
        record.made = make()
    except Exception as error:
        record.make_error = error
    return record


class FitCache:
    """The last few fitted instances, so that the checks of one plug-in fit it once.

    Keyed by whatever identifies a fit (class, canonical parameters, seed, data, context);
    small, because a fitted network can be large and the checks of one plug-in run together."""

    def __init__(self, size: int = 2):
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = make()
        self._entries[key] = value
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()


def params_key(params: Mapping[str, Any]) -> str:
    return canonical_json(dict(params))


class Sentinel:
    """A placeholder value no `__init__` could mistake for a real one."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<sentinel for {self.name}>"


def check_init_stores_parameters_only(case) -> None:
    """`__init__` takes every hyper-parameter as a keyword-only argument (no `*args` or
    `**kwargs`), stores each one unchanged under its own name — built with a distinct
    sentinel object per parameter, each attribute *is* its sentinel, as scikit-learn's
    `clone` checks — and sets nothing else (learned state belongs to `fit`)."""
    cls = case.cls
    kinds = inspect.Parameter
    signature = inspect.signature(cls.__init__)
    loose = [p.name for p in signature.parameters.values() if p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)]
    assert not loose, f"{cls.__name__}.__init__ takes *{', *'.join(loose)}: list every hyper-parameter as a keyword"
    positional = [
        name for name, p in signature.parameters.items()
        if name != "self" and p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    assert not positional, f"{cls.__name__}.__init__: make {', '.join(positional)} keyword-only (after `*`)"
    names = list(parameter_defaults(cls))
    sentinels = {name: Sentinel(name) for name in names}
    try:
        instance = cls(**sentinels)
    except Exception as error:
        raise AssertionError(
            f"{cls.__name__}.__init__ raised {type(error).__name__}: {error} on placeholder values: it must only "
            "store its parameters (check values in fit, or in the classmethod check_params)"
        ) from error
    changed = [name for name in names if getattr(instance, name, MISSING) is not sentinels[name]]
    assert not changed, (
        f"{cls.__name__}.__init__ must store each parameter unchanged under its own name; "
        f"it does not for: {', '.join(changed)}"
    )
    extra = sorted(set(vars(instance)) - set(names))
    assert not extra, (
        f"{cls.__name__}.__init__ sets attributes that are not parameters: {', '.join(extra)} "
        "(build and learn in fit; learned state ends with _)"
    )


def check_init_defaults_are_paper_profile(case) -> None:
    """Every value of the `paper` profile equals the `__init__` default of that parameter
    (compared as canonical JSON, as records store them), so the class built with no
    arguments is the published recipe. Profile variants (`paper+high-res`) are not compared:
    they apply only to datasets with that tag."""
    cls = case.cls
    profiles = getattr(cls, "profiles", {})
    assert "paper" in profiles, f"{cls.__name__} has no paper profile"
    defaults = parameter_defaults(cls)
    differ = []
    for name, value in profiles["paper"].items():
        default = defaults.get(name, MISSING)
        if default is MISSING:
            differ.append(f"{name} (not an __init__ parameter)")
        elif canonical_json(default) != canonical_json(value):
            differ.append(f"{name}: paper {value!r}, default {default!r}")
    assert not differ, f"{cls.__name__}: __init__ defaults differ from the paper profile: {'; '.join(differ)}"
