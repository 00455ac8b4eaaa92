"""A cell: one (method, dataset, normal class, seed, profile) run with its resolved config."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.digest import digest


@dataclass(frozen=True)
class Cell:
    """A small description of one run; detector and data are built inside the worker.

    `normal_class` is the index of the normal class in the dataset's classes, `class_name`
    its name.
    """

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
        return digest([self.method, self.method_params], 10)

    @property
    def dataset_hash(self) -> str:
        """Hash of the dataset's resolved parameters."""
        return digest([self.dataset, self.dataset_params], 10)

    @property
    def config_hash(self) -> str:
        """Hash of the whole resolved configuration; part of the key."""
        return digest([self.method_hash, self.dataset_hash], 10)

    @property
    def key(self) -> str:
        """Stable, filesystem-safe id: dataset, method, profile and config hash, class, seed.

        >>> Cell("dn2", "digits", 3, 0, "smoke", {"k": 2}).key
        'digits/dn2/smoke-f4de547355/c3-s0'
        """
        return f"{self.dataset}/{self.method}/{self.profile}-{self.config_hash}/c{self.normal_class}-s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        hashes = {"method_hash": self.method_hash, "dataset_hash": self.dataset_hash, "config_hash": self.config_hash}
        return {**asdict(self), **hashes, "key": self.key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})
