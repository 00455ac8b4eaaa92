"""The generator suite: what every `bench.generators.Generator` must do.

Each (class, parameters, seed) is fitted once, under `bench.seeding.seeded(seed)`, and
sampled once in the same block; the checks share that fit. The only other fit is the
second one of `check_fit_idempotent`.
"""

from __future__ import annotations

import unittest
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from bench.context import RunContext
from bench.errors import NotFittedError
from bench.images import ImageSet
from bench.params import resolve_params
from bench.tags import Tags
from bench.testing.base import (
    Fit,
    FitCache,
    bind,
    check_init_defaults_are_paper_profile,
    check_init_stores_parameters_only,
    fit_then,
    params_key,
)
from bench.testing.tiny import tiny_digits

FITS = FitCache(size=2)


@dataclass
class GeneratorFit(Fit):
    """A `Fit` of a generator: `made` is the fakes `sample(n)` returned."""

    generator: Any = None

    @property
    def fakes(self) -> Any:
        return self.output()


@dataclass(eq=False)
class GeneratorCase:
    """A generator class with the resolved hyper-parameters, training images, number of
    fakes and context it is checked with."""

    name: str
    cls: type
    params: dict[str, Any]
    images: ImageSet
    n: int
    ctx: RunContext

    @property
    def tags(self) -> Tags:
        return getattr(self.cls, "tags", None) or Tags()

    def build(self):
        return self.cls(**self.params)

    def fit_afresh(self, seed: int) -> GeneratorFit:
        """Build, then fit on the images and sample `n` fakes under `seeded(seed)`."""
        from bench.seeding import seeded

        ctx = replace(self.ctx, seed=seed)
        generator = self.build()
        with seeded(seed, ctx.device):
            return fit_then(GeneratorFit(generator=generator), generator, lambda: generator.fit(self.images, ctx),
                            lambda: generator.sample(self.n, ctx))

    def fitted(self, seed: int = 0) -> GeneratorFit:
        key = (self.cls, params_key(self.params), seed, self.images, self.n, self.ctx)
        return FITS.get(key, lambda: self.fit_afresh(seed))


def check_fit_returns_self(case: GeneratorCase) -> None:
    """`fit(images, ctx)` returns the generator itself."""
    fit = case.fitted().fitted()
    assert fit.returned is fit.generator, f"{case.cls.__name__}.fit returned {fit.returned!r}, not self"


def check_fit_leaves_parameters_unchanged(case: GeneratorCase) -> None:
    """`fit` changes no hyper-parameter (`get_params()` as canonical JSON, before and after)."""
    fit = case.fitted().fitted()
    assert fit.params_after == fit.params_before, (
        f"{case.cls.__name__}.fit changed its parameters: before {fit.params_before}, after {fit.params_after}"
    )


def check_sample_before_fit_raises(case: GeneratorCase) -> None:
    """`sample` on an unfitted generator raises `bench.errors.NotFittedError` whose message
    says to call `fit`."""
    generator = case.build()
    try:
        generator.sample(2, case.ctx)
    except NotFittedError as error:
        assert "call fit" in str(error), f"the NotFittedError should say to call fit: {error}"
    except Exception as error:
        raise AssertionError(
            f"{case.cls.__name__}.sample before fit raised {type(error).__name__}: {error}; expected NotFittedError"
        ) from error
    else:
        raise AssertionError(f"{case.cls.__name__}.sample before fit raised nothing; expected NotFittedError")


def check_sample_shape_and_dtype(case: GeneratorCase) -> None:
    """`sample(n, ctx)` returns a uint8 numpy array n×H×W×3 (FITYMI's fake-bank layout); with
    an `image_size` parameter, H = W = image_size."""
    fakes = case.fitted().fakes
    assert isinstance(fakes, np.ndarray), f"sample returned {type(fakes).__name__}, not a numpy array"
    assert fakes.dtype == np.uint8, f"sample returned dtype {fakes.dtype}; expected uint8"
    assert fakes.ndim == 4 and fakes.shape[0] == case.n and fakes.shape[3] == 3, (
        f"sample({case.n}) returned shape {fakes.shape}; expected ({case.n}, H, W, 3)"
    )
    size = case.params.get("image_size")
    if size is not None:
        assert fakes.shape[1:3] == (size, size), f"fakes are {fakes.shape[1:3]}, image_size is {size}"


def check_fit_idempotent(case: GeneratorCase) -> None:
    """The same seed gives the same fakes: fitting and sampling under `seeded(seed)` twice
    makes identical arrays. Skipped for a class whose `tags.deterministic` is False."""
    if not case.tags.deterministic:
        raise unittest.SkipTest(f"{case.name} is tagged non-deterministic")
    first = case.fitted(seed=0).fakes
    second = case.fit_afresh(seed=0).fakes
    np.testing.assert_array_equal(first, second, err_msg=f"{case.name}: two fits with seed 0 sampled differently")


GENERATOR_CHECKS = (
    check_init_stores_parameters_only,
    check_init_defaults_are_paper_profile,
    check_fit_returns_self,
    check_fit_leaves_parameters_unchanged,
    check_sample_before_fit_raises,
    check_sample_shape_and_dtype,
    check_fit_idempotent,
)


def generator_checks(
    generator: str | type,
    params: Mapping[str, Any] | None = None,
    *,
    images: ImageSet | None = None,
    n: int = 6,
    ctx: RunContext | None = None,
):
    """Yield `(check, bound)` for every check of `GENERATOR_CHECKS` applied to `generator` —
    a registered name or a `Generator` class.

    `params` are hyper-parameters on top of the class's `smoke` profile (give few
    `train_steps` for speed); `images` default to the 30 training digits of `tiny_digits()`;
    `n` fakes are sampled; `ctx` defaults to a CPU `RunContext`. A class may declare
    `tags = bench.tags.Tags(expected_failures=..., deterministic=...)` as methods do."""
    name, cls = _generator(generator)
    smoke = dict(getattr(cls, "profiles", {}).get("smoke", {}))
    case = GeneratorCase(
        name=name,
        cls=cls,
        params=resolve_params(cls, {**smoke, **(params or {})}),
        images=images if images is not None else tiny_digits().train,
        n=n,
        ctx=ctx if ctx is not None else RunContext(seed=0, normal_class=0),
    )
    yield from bind(name, case, GENERATOR_CHECKS, case.tags.expected_failures)


def _generator(generator: str | type) -> tuple[str, type]:
    if isinstance(generator, str):
        from bench.generators import generators

        entry = generators.get(generator)
        return entry.name, entry.factory
    return generator.__dict__.get("name") or generator.__name__, generator
