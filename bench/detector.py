"""The detector contract every method follows.

A detector is scikit-learn-like:

- `__init__` takes keyword-only hyper-parameters and stores them unchanged under the same
  names; it builds nothing and checks nothing. Its defaults are the `paper` profile.
- `fit(train, ctx)` learns from normal images only and returns `self`; learned state ends
  with `_`.
- `score(test, ctx)` returns a 1-D finite float array, one value per test image,
  **higher = more anomalous**. Calling it before `fit` raises `NotFittedError`.

`train` and `test` are image sets (see `bench.images`); `ctx` is a `bench.context.RunContext`.
Each class declares its `profiles` (at least `smoke` and `paper`): hyper-parameter values by
name. A profile is data, never a code path. An entry named `PROFILE+TAG` (`paper+high-res`)
adds values for the cells whose dataset carries that tag (see `bench.params`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from bench.context import RunContext
from bench.params import HasParams, validate_profiles
from bench.requirements import Requirement
from bench.tags import Tags

REQUIRED_PROFILES = ("smoke", "paper")


class Detector(HasParams):
    """Base class of every method; see the module docstring for the contract."""

    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    tags: ClassVar[Tags] = Tags()

    def fit(self, train, ctx: RunContext) -> "Detector":
        raise NotImplementedError

    def score(self, test, ctx: RunContext) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        """Files these hyper-parameters need (pretrained weights, ...); checked at plan time.
        The default: the `inputs`."""
        return cls.inputs(params, ctx)

    @classmethod
    def inputs(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        """The files among the requirements that only the user can provide (no download
        exists: a fake bank, an outlier image folder; `fetch` None). `bench data list` shows
        them. Reads no file and imports nothing heavy."""
        return []

    @classmethod
    def check_resources(cls, params: Mapping[str, Any], max_train_images: int | None) -> str | None:
        """What these hyper-parameters need on a dataset whose normal classes have at most
        `max_train_images` training images (None: the dataset does not say), as a one-line
        notice the planner prints (None: nothing worth saying); ValueError, naming the fix,
        when they cannot fit. Called at plan time: estimate, build nothing."""
        return None

    @classmethod
    def check_inputs(cls, params: Mapping[str, Any], benchmark, classes: list[int], data_root) -> None:
        """Check, at plan time and once the files of `requirements` exist, what those files hold
        against the data of the selected normal `classes` of `benchmark` (a fake bank long
        enough for each class); raise ValueError naming the fix. The default checks nothing."""

    @classmethod
    def generators_used(cls, params: Mapping[str, Any]) -> tuple:
        """The registry entries (`bench.generators.generators.get(name)`) of the fake
        generators these hyper-parameters train on: their code is part of a record's code
        identity (`bench.code_identity`)."""
        return ()


def validate_method_class(name: str, cls: type) -> None:
    """Registration-time checks: a Detector with smoke and paper profiles of real parameters."""
    validate_profiles("method", Detector, name, cls, REQUIRED_PROFILES)
