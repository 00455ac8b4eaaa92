"""The code a run uses: its git state, and frozen snapshots of it for cluster jobs.

A SLURM job may start hours after it was submitted, when the working tree has moved on. So
`bench run --executor slurm` copies the installed nearbench packages (`bench`, with
`bench.methods` and `bench.datasets` wherever they live) into a content-addressed snapshot
under the results root, and every task imports nearbench from there. The snapshot carries a
`nearbench-code.json` naming the git commit it came from, whether the sources differed from
that commit, and the SHA-256 of its files; records made from it copy those into their
provenance.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.atomic import umask

SOURCE_DIR = Path(__file__).resolve().parent.parent  # the checkout, or a snapshot's root
MARKER = "nearbench-code.json"
PACKAGES = ("bench", "bench.methods", "bench.datasets")
# What decides the code a cell runs, relative to a checkout: the packages and the dependencies.
TRACKED = ("bench", "methods", "datasets", "pyproject.toml")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


@dataclass(frozen=True)
class CodeState:
    commit: str | None  # None outside a git checkout (a pip-installed nearbench)
    dirty: list[str]  # files of TRACKED that differ from the commit, untracked ones included
    sha256: str | None = None  # of a snapshot's files; None for a live checkout

    @property
    def is_dirty(self) -> bool | None:
        return None if self.commit is None else bool(self.dirty)


def _git(source: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def git_state(source: Path | None = None) -> CodeState:
    """The commit checked out at `source` (default: this nearbench's checkout) and the
    tracked paths that differ from it.

    Only a checkout whose top level is `source` counts: an installed nearbench inside some
    other repository (a virtual environment in a project) has no commit of its own.
    """
    source = SOURCE_DIR if source is None else Path(source)
    top = _git(source, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != source.resolve():
        return CodeState(commit=None, dirty=[])
    commit = (_git(source, "rev-parse", "HEAD") or "").strip() or None
    status = _git(source, "status", "--porcelain", "--untracked-files=all", "--", *TRACKED) or ""
    return CodeState(commit=commit, dirty=sorted(line[3:] for line in status.splitlines() if line.strip()))


def running_code() -> CodeState:
    """The state of the code this process runs: a snapshot's marker, else the checkout's git."""
    marker = SOURCE_DIR / MARKER
    if marker.is_file():
        return CodeState(**json.loads(marker.read_text()))
    return git_state()


def package_dirs() -> dict[str, Path]:
    """Where each nearbench package is imported from (an editable install maps
    `bench.methods` to `methods/`, a wheel keeps it inside `bench/`)."""
    return {name: Path(importlib.import_module(name).__path__[0]).resolve() for name in PACKAGES}


def tree_sha256(root: Path) -> str:
    """SHA-256 over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == MARKER:
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def snapshot(parent: Path, state: CodeState) -> tuple[Path, CodeState]:
    """Copy the nearbench packages into `parent/<commit>-<sha256>/` (reused when the same code
    was snapshotted before) and return that directory, to be put first on a job's PYTHONPATH,
    with the snapshot's code state."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=parent))
    os.chmod(staging, 0o777 & ~umask())  # mkdtemp's 0700 would hide the code from a group sharing the results
    try:
        dirs = package_dirs()
        shutil.copytree(dirs["bench"], staging / "bench", ignore=IGNORED)
        for name, source in dirs.items():
            target = staging / Path(*name.split("."))
            if not source.is_relative_to(dirs["bench"]):  # mapped from elsewhere: put it in place
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(source, target, ignore=IGNORED)
        frozen = CodeState(commit=state.commit, dirty=state.dirty, sha256=tree_sha256(staging))
        (staging / MARKER).write_text(json.dumps(asdict(frozen), indent=1) + "\n")
        final = parent / f"{(state.commit or 'nogit')[:10]}-{frozen.sha256[:12]}"
        if final.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final, frozen
