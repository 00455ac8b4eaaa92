"""Capabilities of a method, read by the planner and the conformance checks, never by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Tags:
    """What a method needs and promises.

    - `gpu_profiles`: profiles sized for a GPU; planning one of them for a CPU warns.
    - `min_image_size`: the smallest image side (px) its networks take; the planner checks the
      resolution a cell will work at (its `image_size` parameter) against it.
    - `deterministic`: same seed, same scores (checked by `bench.testing`).
    - `expected_failures`: conformance check name → why this method is expected to fail it.
    - `untrained_params`: for a method that trains, the parameter values that skip its
      training (`{"epochs": 0}`): the conformance suite fits it with them too and checks
      that training changed the scores measurably. None: nothing to train.
    """

    gpu_profiles: tuple[str, ...] = ()
    min_image_size: int = 1
    deterministic: bool = True
    expected_failures: Mapping[str, str] = field(default_factory=dict)
    untrained_params: Mapping[str, Any] | None = None
