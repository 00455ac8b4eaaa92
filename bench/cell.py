"""A cell: one (method, dataset, normal class, seed, profile) run with its resolved config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(value: Any) -> str:
    """Ten hex digits of the SHA-256 of `value`'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:10]


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
    def method_hash(self) -> str:
        """Hash of the method's resolved parameters: tells configurations of a method apart."""
        return short_hash([self.method, self.method_params])

    @property
    def dataset_hash(self) -> str:
        """Hash of the dataset's resolved parameters."""
        return short_hash([self.dataset, self.dataset_params])

    @property
    def config_hash(self) -> str:
        """Hash of the whole resolved configuration; part of the key."""
        return short_hash([self.method_hash, self.dataset_hash])

    @property
    def key(self) -> str:
        """Stable, filesystem-safe id: `digits/dn2/smoke-1a2b3c4d5e/c3-s0`."""
        return f"{self.dataset}/{self.method}/{self.profile}-{self.config_hash}/c{self.normal_class}-s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        hashes = {"method_hash": self.method_hash, "dataset_hash": self.dataset_hash, "config_hash": self.config_hash}
        return {**asdict(self), **hashes, "key": self.key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})
