"""The method suite: what every `bench.detector.Detector` must do.

Each (class, parameters, seed) is fitted once and scored once; the checks that need a fitted
detector share that fit (`MethodCase.fitted`). The only other fit is the second one of
`check_fit_idempotent`.
"""

from __future__ import annotations

import unittest
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from bench.context import RunContext
from bench.errors import NotFittedError
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
from bench.testing.tiny import NORMAL, OBVIOUS, TinyData, tiny_digits

FITS = FitCache(size=2)


@dataclass
class MethodFit(Fit):
    """A `Fit` of a detector: `made` is its scores of the test images."""

    detector: Any = None

    @property
    def scores(self) -> Any:
        return self.output()


@dataclass(eq=False)
class MethodCase:
    """A method class with the resolved hyper-parameters, data and context it is checked with."""

    name: str
    cls: type
    params: dict[str, Any]
    data: TinyData
    ctx: RunContext

    @property
    def tags(self) -> Tags:
        return getattr(self.cls, "tags", None) or Tags()

    def build(self):
        return self.cls(**self.params)

    def fit_afresh(self, seed: int) -> MethodFit:
        """Build, seed everything with `seed`, fit on the training images, score the test images."""
        from bench.seeding import seed_everything

        ctx = replace(self.ctx, seed=seed)
        detector = self.build()
        seed_everything(seed)
        return fit_then(MethodFit(detector=detector), detector, lambda: detector.fit(self.data.train, ctx),
                        lambda: detector.score(self.data.test, ctx))

    def fitted(self, seed: int = 0) -> MethodFit:
        """The shared fit for `seed` (made on first use)."""
        key = (self.cls, params_key(self.params), seed, self.data, self.ctx)
        return FITS.get(key, lambda: self.fit_afresh(seed))

    def untrained(self) -> "MethodCase":
        """This case with the method's training skipped (`tags.untrained_params` on top)."""
        return replace(self, params={**self.params, **(self.tags.untrained_params or {})})


def check_fit_returns_self(case: MethodCase) -> None:
    """`fit(train, ctx)` returns the detector itself."""
    fit = case.fitted().fitted()
    assert fit.returned is fit.detector, f"{case.cls.__name__}.fit returned {fit.returned!r}, not self"


def check_fit_leaves_parameters_unchanged(case: MethodCase) -> None:
    """`fit` changes no hyper-parameter: `get_params()`, as canonical JSON, is the same
    before and after (learned state goes into attributes ending with `_`)."""
    fit = case.fitted().fitted()
    assert fit.params_after == fit.params_before, (
        f"{case.cls.__name__}.fit changed its parameters: before {fit.params_before}, after {fit.params_after}"
    )


def check_score_before_fit_raises(case: MethodCase) -> None:
    """`score` on an unfitted detector raises `bench.errors.NotFittedError` whose message
    says to call `fit` (`bench.errors.check_is_fitted` does this)."""
    detector = case.build()
    try:
        detector.score(case.data.test, case.ctx)
    except NotFittedError as error:
        assert "call fit" in str(error), f"the NotFittedError should say to call fit: {error}"
    except Exception as error:
        raise AssertionError(
            f"{case.cls.__name__}.score before fit raised {type(error).__name__}: {error}; "
            "expected NotFittedError (bench.errors.check_is_fitted)"
        ) from error
    else:
        raise AssertionError(f"{case.cls.__name__}.score before fit raised nothing; expected NotFittedError")


def check_score_shape_and_finite(case: MethodCase) -> None:
    """`score(test, ctx)` returns a 1-D float numpy array with one finite value per test image."""
    scores = case.fitted().scores
    n = len(case.data.test)
    assert isinstance(scores, np.ndarray), f"score returned {type(scores).__name__}, not a numpy array"
    assert scores.shape == (n,), f"score returned shape {scores.shape}; expected ({n},), one score per test image"
    assert np.issubdtype(scores.dtype, np.floating), f"score returned dtype {scores.dtype}; expected floats"
    assert np.isfinite(scores).all(), f"score returned {int((~np.isfinite(scores)).sum())} non-finite value(s)"


def check_obvious_anomaly_scores_higher(case: MethodCase) -> None:
    """Higher = more anomalous: uniform-noise images score higher, on average, than
    held-out images of the normal class."""
    scores = np.asarray(case.fitted().scores, dtype=float)
    kind = case.data.kind
    obvious, normal = scores[kind == OBVIOUS].mean(), scores[kind == NORMAL].mean()
    assert obvious > normal, (
        f"noise images score {obvious:.4g} on average, held-out normal images {normal:.4g}: "
        "scores must be higher for more anomalous images (negate a 'normality' score)"
    )


def check_fit_idempotent(case: MethodCase) -> None:
    """The same seed gives the same scores: two detectors fitted with the same seed score
    the test images identically. Skipped when the method's `tags.deterministic` is False."""
    if not case.tags.deterministic:
        raise unittest.SkipTest(f"{case.name} is tagged non-deterministic")
    first = case.fitted(seed=0).scores
    second = case.fit_afresh(seed=0).scores
    np.testing.assert_array_equal(
        np.asarray(first), np.asarray(second), err_msg=f"{case.name}: two fits with seed 0 scored differently"
    )


MIN_TRAINING_CHANGE = 0.05  # see check_training_changes_scores


def training_change(trained: np.ndarray, untrained: np.ndarray) -> float:
    """How much training moved the scores, whatever their scale: the root-mean-square
    difference of the two score vectors, each standardised (mean 0, std 1). It is
    √(2(1 − r)) for their Pearson correlation r: 0 for scores that training only shifted or
    scaled (the same ranking, the same AUROC), about 1.4 for unrelated scores."""
    def standardised(scores):
        scores = np.asarray(scores, dtype=float)
        spread = scores.std()
        return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)

    return float(np.sqrt(np.mean((standardised(trained) - standardised(untrained)) ** 2)))


def check_training_changes_scores(case: MethodCase) -> None:
    """A method that trains changes its scores by training, measurably: fitted as configured
    and fitted with its training skipped (`tags.untrained_params`, same seed), its scores of
    the test images differ by at least `MIN_TRAINING_CHANGE` in `training_change` (Pearson
    correlation below 0.99875). A smoke profile whose training leaves the scores of the
    initial network is two methods that are one. Skipped for methods with nothing to train;
    a method with an `epochs` parameter must declare its `untrained_params`."""
    if case.tags.untrained_params is None:
        if "epochs" in case.params:
            raise AssertionError(
                f"{case.name} has an epochs parameter but no tags.untrained_params: declare the values that skip "
                "its training (Tags(untrained_params={'epochs': 0})) so that this check can compare"
            )
        raise unittest.SkipTest(f"{case.name} trains nothing (no tags.untrained_params)")
    trained = np.asarray(case.fitted().scores, dtype=float)
    untrained = np.asarray(case.untrained().fitted().scores, dtype=float)
    change = training_change(trained, untrained)
    assert change >= MIN_TRAINING_CHANGE, (
        f"{case.name}: training moved the scores by {change:.4f} (standardised RMS difference from the untrained "
        f"network's, {case.tags.untrained_params}); at least {MIN_TRAINING_CHANGE} is needed — its training barely "
        "moves the weights (a smoke profile needs a larger learning rate or more steps)"
    )


METHOD_CHECKS = (
    check_init_stores_parameters_only,
    check_init_defaults_are_paper_profile,
    check_fit_returns_self,
    check_fit_leaves_parameters_unchanged,
    check_score_before_fit_raises,
    check_score_shape_and_finite,
    check_obvious_anomaly_scores_higher,
    check_fit_idempotent,
    check_training_changes_scores,
)


def method_checks(
    method: str | type,
    params: Mapping[str, Any] | None = None,
    *,
    data: TinyData | None = None,
    ctx: RunContext | None = None,
):
    """Yield `(check, bound)` for every check of `METHOD_CHECKS` applied to `method` — a
    registered name or a `Detector` class.

    `params` are hyper-parameters on top of the class's `smoke` profile (an unknown name is a
    ValueError); `data` defaults to `tiny_digits()`, `ctx` to a CPU `RunContext` whose normal
    class is 0 (the seed is set per fit). The class's `tags.expected_failures` mark checks it
    is expected to fail."""
    name, cls = _method(method)
    smoke = dict(getattr(cls, "profiles", {}).get("smoke", {}))
    case = MethodCase(
        name=name,
        cls=cls,
        params=resolve_params(cls, {**smoke, **(params or {})}),
        data=data if data is not None else tiny_digits(),
        ctx=ctx if ctx is not None else RunContext(seed=0, normal_class=0),
    )
    yield from bind(name, case, METHOD_CHECKS, case.tags.expected_failures)


def _method(method: str | type) -> tuple[str, type]:
    if isinstance(method, str):
        from bench.registry import methods

        entry = methods.get(method)
        return entry.name, entry.factory
    return method.__dict__.get("name") or method.__name__, method
