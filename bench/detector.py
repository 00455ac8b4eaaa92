"""The detector contract every method follows.

A detector is scikit-learn-like:

- `__init__` takes keyword-only hyper-parameters and stores them unchanged under the same
  names; it builds nothing and checks nothing.
- `fit(train, ctx)` learns from normal images only and returns `self`; learned state ends
  with `_`.
- `score(test, ctx)` returns a 1-D finite float array, one value per test image,
  **higher = more anomalous**. Calling it before `fit` raises `NotFittedError`.

`train` and `test` are image sets (see `bench.images`); `ctx` is a `RunContext`. Each class
declares its `profiles` (at least `smoke` and `paper`): hyper-parameter values by name.
A profile is data, never a code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping

import numpy as np

from bench.params import HasParams, validate_profiles

REQUIRED_PROFILES = ("smoke", "paper")


@dataclass(frozen=True)
class MethodTags:
    """What a method needs and promises; the planner and the tests read these, not names."""

    needs_gpu: bool = False
    needs_weights: bool = False
    deterministic: bool = True
    min_image_size: int | None = None
    # conformance check name -> why this method is expected to fail it
    expected_failures: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirement:
    """A file a method or dataset needs before any cell may run."""

    what: str  # "pretrained weights resnet152 (IMAGENET1K_V1)"
    path: Path
    how_to_get: str
    param: str | None = None  # the parameter that can point at another copy of the file
    fetch: Callable[[], object] | None = None  # downloads it, for `bench prepare`

    @property
    def present(self) -> bool:
        return self.path.exists()


def no_progress(iterable: Iterable, total: int | None = None, desc: str | None = None) -> Iterable:
    return iterable


@dataclass(frozen=True)
class RunContext:
    """Everything about *where* a cell runs, none of *what* it computes."""

    seed: int = 0
    profile: str = "smoke"
    normal_class: int | None = None  # index of the normal class (one-class: it is known)
    device: str = "cpu"
    data_root: Path = Path(".")
    cache_dir: Path | None = None  # None: no on-disk caches
    loader_workers: int = 0  # processes preparing image batches (0: this process)
    checkpoint_dir: Path | None = None  # this cell's own: training resumes from it
    checkpoint_interval_s: float = 60.0  # save training state at most this often (and at the end)
    progress: Callable[..., Iterable] = no_progress


class Detector(HasParams):
    """Base class of every method; see the module docstring for the contract."""

    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    tags: ClassVar[MethodTags] = MethodTags()

    def fit(self, train, ctx: RunContext) -> "Detector":
        raise NotImplementedError

    def score(self, test, ctx: RunContext) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def requirements(cls, params: Mapping[str, Any], ctx: RunContext) -> list[Requirement]:
        """Files these hyper-parameters need (pretrained weights, ...); checked at plan time."""
        return []


def validate_method_class(name: str, cls: type) -> None:
    """Registration-time checks: a Detector with smoke and paper profiles of real parameters."""
    validate_profiles("method", Detector, name, cls, REQUIRED_PROFILES)
