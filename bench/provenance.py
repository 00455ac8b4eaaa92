"""Where and with what a record was made: versions, code (git commit, snapshot), host, device,
SLURM job."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
from functools import lru_cache

from bench.code import SOURCE_DIR, running_code

PACKAGES = ("nearbench", "torch", "torchvision", "numpy", "scikit-learn", "pyod", "anomalib", "timm", "pandas")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def static_provenance() -> dict:
    """The parts that do not change within a process."""
    code = running_code()
    return {
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "git_commit": code.commit,
        "git_dirty": code.is_dirty,  # the packages' sources differ from the commit
        "code_dir": str(SOURCE_DIR),  # a checkout, or the snapshot a SLURM task ran
        "code_sha256": code.sha256,  # of the snapshot's files (SLURM tasks)
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
        "slurm_restart_count": int(os.environ.get("SLURM_RESTART_COUNT", 0)) if "SLURM_JOB_ID" in os.environ else None,
    }
