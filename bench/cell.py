"""A cell: one (method, dataset, normal class, seed, profile) run with its resolved config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Cell:
    """A small description of one run; detector and data are built inside the worker."""

    method: str
    dataset: str
    normal_class: int
    seed: int
    profile: str
    method_params: dict[str, Any] = field(default_factory=dict, hash=False)
    dataset_params: dict[str, Any] = field(default_factory=dict, hash=False)
    class_name: str = ""

    @property
    def config_hash(self) -> str:
        """Ten hex digits of the resolved configuration; part of the key."""
        config = {"method": [self.method, self.method_params], "dataset": [self.dataset, self.dataset_params]}
        return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:10]

    @property
    def key(self) -> str:
        """Stable, filesystem-safe id: `digits/dn2/smoke-1a2b3c4d5e/c3-s0`."""
        return f"{self.dataset}/{self.method}/{self.profile}-{self.config_hash}/c{self.normal_class}-s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "config_hash": self.config_hash, "key": self.key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})
