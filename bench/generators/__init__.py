"""Fake generators: models trained on one normal class whose samples serve as
near-distribution anomalies — FITYMI's fine-tuning data and the near-distribution sets.

Methods and datasets both use this package; it knows about neither. Generators register
like methods (`@register_generator`, entry point group `nearbench.generators`);
`make_generator(name, profile, overrides)` builds one from a profile plus overrides, and
`bench.generators.bank` caches what they make.
"""

from __future__ import annotations

from typing import Any, Mapping

from bench.generators.base import Generator, validate_generator_class
from bench.params import resolve_profile
from bench.registry import Registry

generators = Registry("generator", "bench.generators", "nearbench.generators", validate_generator_class)
register_generator = generators.register


def generator_params(name: str, profile: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The resolved hyper-parameters of generator `name` under `profile`, plus overrides;
    UserError for an unknown generator, profile or parameter, or a value no run could use."""
    return resolve_profile("generator", name, generators.get(name).factory, profile, overrides)


def make_generator(name: str, profile: str, overrides: Mapping[str, Any] | None = None) -> Generator:
    return generators.get(name).factory(**generator_params(name, profile, overrides))


__all__ = ["Generator", "generators", "register_generator", "generator_params", "make_generator"]
