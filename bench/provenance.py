"""Where and with what a record was made: versions, git commit, host, device, SLURM job."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
from functools import lru_cache
from pathlib import Path

PACKAGES = ("nearbench", "torch", "torchvision", "numpy", "scikit-learn", "pyod", "anomalib", "timm", "pandas")
SOURCE_DIR = Path(__file__).resolve().parent.parent


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(SOURCE_DIR), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


@lru_cache(maxsize=1)
def static_provenance() -> dict:
    """The parts that do not change within a process."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
    }


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


def provenance(device: str) -> dict:
    return {
        **static_provenance(),
        "device": device,
        "device_name": device_name(device),
        "slurm_job_id": os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID")),
        "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
    }
