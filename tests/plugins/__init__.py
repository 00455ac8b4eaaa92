"""Plug-ins the tests install as real distributions, and the gates that drive them.

Pool workers and SLURM tasks are separate processes that import nearbench afresh (SLURM tasks
from a code snapshot): a method registered in the test's process never reaches them. So
`install` writes the plug-in module (`gated_method.py`, copied under a name of its own) and a
minimal `nearbench_test_plugins-0.dist-info/` with a `[nearbench.methods]` entry point into a
folder, and puts that folder on `sys.path` (this process) and `PYTHONPATH` (what pool workers
and — sbatch exports the environment — SLURM tasks start with). `uninstall` undoes the
registration; the caller's monkeypatch restores the paths.

A `Gate` holds each `test-gated` cell in `fit` until the test releases it, so tests decide
what has run when, whatever the machine's speed.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import registry

METHOD = "test-gated"
MODULE = "nearbench_test_gated"
DISTRIBUTION = "nearbench_test_plugins"


@dataclass(frozen=True)
class Start:
    """One start of a gated cell: the SLURM job (its array's id; `-` outside SLURM), its
    restart count, the process."""

    job: str
    restart: int
    pid: int


@dataclass(frozen=True)
class Gate:
    """The gate folder of the `test-gated` cells: `release` lets cells past `fit`'s wait,
    `starts` says which of them started, where and how often."""

    folder: Path

    @property
    def setting(self) -> str:
        """The `--set` (or `make_plan(overrides=...)`) value that gates the cells."""
        return f"{METHOD}.gate={self.folder}"

    @staticmethod
    def name(key: str) -> str:
        """`<class>-<seed>` of a cell key (`digits/test-gated/smoke-…/c3-s0` → `3-0`)."""
        match = re.search(r"/c(\d+)-s(\d+)$", key)
        assert match, key
        return f"{match[1]}-{match[2]}"

    def release(self, *keys: str) -> None:
        for key in keys:
            (self.folder / self.name(key)).touch()

    def starts(self, key: str) -> list[Start]:
        try:
            lines = (self.folder / f"started-{self.name(key)}").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [Start(job, int(restart), int(pid)) for job, restart, pid in (line.split() for line in lines)]


def install(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Install the `test-gated` plug-in from `folder` (created) and return a gate (empty)."""
    folder.mkdir(parents=True)
    shutil.copyfile(Path(__file__).with_name("gated_method.py"), folder / f"{MODULE}.py")
    info = folder / f"{DISTRIBUTION}-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[nearbench.methods]\n{METHOD} = {MODULE}:Gated\n")
    monkeypatch.syspath_prepend(str(folder))  # also invalidates the import caches
    previous = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", f"{folder}{os.pathsep}{previous}" if previous else str(folder))
    registry.methods.reload()
    assert METHOD in registry.methods, f"the {METHOD} plug-in was not found through its entry point"
    gate = Gate(folder / "gate")
    gate.folder.mkdir()
    return gate


def uninstall() -> None:
    """Forget the plug-in (once its folder is off `sys.path`)."""
    sys.modules.pop(MODULE, None)
    importlib.invalidate_caches()
    registry.methods.reload()
    assert METHOD not in registry.methods

