"""Hyper-parameter values checked before anything runs: each against the type its class's
`__init__` declares (pydantic's `TypeAdapter`, lax mode: `3` is a float, `[1, 2]` a tuple),
then against the range its name stands for (`RANGES`). A class's own `check_params` adds
what neither can see (values that depend on each other, on other registries).

Values are checked, never converted: what the cell records (and hashes) is what was given.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import math
from typing import Any, Callable, Mapping

SEED_LIMIT = 2**32  # numpy's and torch's seeds are unsigned 32-bit


def _at_least(low: float) -> tuple[Callable[[float], bool], str]:
    return (lambda v: v >= low), f"≥ {low:g}"


def _above(low: float) -> tuple[Callable[[float], bool], str]:
    return (lambda v: v > low), f"> {low:g}"


def _within(low: float, high: float, *, low_open: bool = False, high_open: bool = True):
    def inside(v: float) -> bool:
        return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

    def shown(bound: float) -> str:  # 4294967296, not 4.29497e+09
        return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"

    return inside, f"in {'(' if low_open else '['}{shown(low)}, {shown(high)}{')' if high_open else ']'}"


# Parameter name (or glob) → (test, what it must be). The first match wins: exact names
# come before globs. None values (an unset option) are never range-checked.
RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    "warmup_epochs": _at_least(0),
    "frozen_blocks": _at_least(0),
    "corrector_steps": _at_least(0),
    "warmup_steps": _at_least(0),
    "k": _at_least(1),
    "*_seed": _within(0, SEED_LIMIT),
    "*epochs": _at_least(1),
    "*_steps": _at_least(1),
    "*batch_size": _at_least(1),
    "*_classes": _at_least(1),
    "*milestone": _at_least(1),
    "image_size": _at_least(1),
    "resize": _at_least(1),
    "latent_dim": _at_least(1),
    "width": _at_least(1),
    "rep_dim": _at_least(1),
    "layers_per_block": _at_least(1),
    "num_neighbors": _at_least(1),
    "ood_samples": _at_least(1),
    "n_features": _at_least(1),
    "*lr": _above(0),
    "temperature": _above(0),
    "sigma_*": _above(0),
    "snr": _above(0),
    "*clip*": _above(0),
    "warmup_multiplier": _above(0),
    "fake_ratio": _above(0),
    "weight_decay": _at_least(0),
    "momentum": _within(0, 1),
    "dropout": _within(0, 1),
    "t_stop": _within(0, 1),
    "*_fraction": _within(0, 1, low_open=True),
    "*_ratio": _within(0, 1, low_open=True, high_open=False),
    "*crop_scale*": _within(0, 1, low_open=True, high_open=False),
}


def range_of(name: str) -> tuple[Callable[[float], bool], str] | None:
    if name in RANGES:
        return RANGES[name]
    return next((rule for pattern, rule in RANGES.items() if fnmatch.fnmatchcase(name, pattern)), None)


@functools.lru_cache(maxsize=None)
def declared_types(cls: type) -> dict[str, Any]:
    """Parameter → its declared type, evaluated from `cls.__init__`'s annotations (strings
    under `from __future__ import annotations`); parameters without one, or whose annotation
    does not evaluate here, map to `Any`."""
    init = cls.__init__
    types = {}
    for name, annotation in inspect.get_annotations(init).items():
        if name == "return":
            continue
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, getattr(init, "__globals__", {}))  # noqa: S307 - the class's own source
            except Exception:
                annotation = Any
        types[name] = annotation
    return types


@functools.lru_cache(maxsize=None)
def _adapter(annotation: Any):
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def check_values(cls: type, params: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first parameter whose value is not of its declared type
    or not in the range its name stands for."""
    from pydantic import ValidationError

    types = declared_types(cls)
    for name, value in params.items():
        annotation = types.get(name, Any)
        if annotation is not Any:
            try:
                # strict for text and booleans: "False" is no bool, "3" no int, true no int (values
                # are checked, never converted, so a converted value would run as what was given)
                _adapter(annotation).validate_python(value, strict=isinstance(value, (bool, str)))
            except ValidationError as error:
                why = error.errors()[0]["msg"].rstrip(".").lower()
                hint = "; values are JSON: write false, true, 3 or null without quotes" if isinstance(value, str) else ""
                raise ValueError(f"{name}={value!r} is not {_type_name(annotation)} ({why}){hint}") from None
            except Exception:  # a type pydantic cannot check: the class's check_params may
                pass
        rule = range_of(name)
        if rule is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            test, what = rule
            if not (math.isfinite(value) and test(value)):
                raise ValueError(f"{name}={value!r} is out of range: it must be {what}")
