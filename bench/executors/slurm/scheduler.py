"""The SLURM commands nearbench calls: what the cluster allows (scontrol), whether it would
take a job script (sbatch --test-only), what is queued (squeue) and cancelling (scancel)."""

from __future__ import annotations

import getpass
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from bench.errors import UserError
from bench.executors.slurm.options import parse_time

COMMANDS = ("sbatch", "squeue", "scontrol", "scancel")
# Job states in which a task may still write records (a requeued task passes through them all).
ALIVE = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
    "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD", "SPECIAL_EXIT",
}


class SchedulerError(RuntimeError):
    """A SLURM command failed for a reason other than the user's request."""


def require() -> None:
    missing = [name for name in COMMANDS if shutil.which(name) is None]
    if missing:
        raise UserError(
            f"--executor slurm needs SLURM's {', '.join(missing)} on PATH: run bench on a login node of the "
            "cluster (or use --executor local)"
        )


def _run(*args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(args), input=input, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SchedulerError(f"{args[0]}: {error}") from None


def _message(process: subprocess.CompletedProcess) -> str:
    lines = [line.removeprefix("sbatch: ").removeprefix("error: ").strip() for line in (process.stderr or process.stdout).splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith("Try "))


@lru_cache(maxsize=1)
def config() -> dict[str, str]:
    """`scontrol show config` as a dict."""
    process = _run("scontrol", "show", "config")
    if process.returncode:
        raise UserError(f"cannot reach the SLURM controller: {_message(process)} (is the cluster up? try `sinfo`)")
    settings = {}
    for line in process.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            settings[key.strip()] = value.strip()
    return settings


def max_array_size() -> int:
    """Most tasks one job array may have (array indices run 0 … MaxArraySize - 1)."""
    return int(config().get("MaxArraySize", "1001"))


@dataclass(frozen=True)
class Partition:
    name: str
    cpus: int
    gpus: int
    default_time: int | None  # minutes; None when the partition sets none
    max_time: int | None  # minutes; None = unlimited


def _minutes(text: str) -> int | None:
    return None if text.upper() in ("NONE", "UNLIMITED", "INFINITE", "") else parse_time(text)


@lru_cache(maxsize=8)
def partition(name: str | None) -> Partition:
    """The named partition, or the cluster's default one."""
    process = _run("scontrol", "show", "partition", "-o")
    if process.returncode:
        raise UserError(f"cannot reach the SLURM controller: {_message(process)} (is the cluster up? try `sinfo`)")
    tables = [dict(token.split("=", 1) for token in line.split() if "=" in token) for line in process.stdout.splitlines()]
    tables = [t for t in tables if "PartitionName" in t]
    names = [t["PartitionName"] for t in tables]
    if name is None:
        chosen = next((t for t in tables if t.get("Default") == "YES"), None)
        if chosen is None:
            raise UserError(f"the cluster has no default partition: pass --partition ({', '.join(names)})")
    else:
        chosen = next((t for t in tables if t["PartitionName"] == name), None)
        if chosen is None:
            raise UserError(f"--partition {name}: the cluster has no such partition (it has: {', '.join(names)})")
    tres = dict(item.split("=", 1) for item in chosen.get("TRES", "").split(",") if "=" in item)
    gpus = int(tres.get("gres/gpu", "0"))  # the total; typed entries (gres/gpu:a100) repeat it
    return Partition(
        name=chosen["PartitionName"],
        cpus=int(chosen.get("TotalCPUs", "1")),
        gpus=gpus,
        default_time=_minutes(chosen.get("DefaultTime", "NONE")),
        max_time=_minutes(chosen.get("MaxTime", "UNLIMITED")),
    )


def test_submission(script: str) -> None:
    """Ask the controller whether it would take `script` (`sbatch --test-only`); nothing is queued."""
    process = _run("sbatch", "--test-only", input=script)
    if process.returncode:
        raise UserError(
            f"the cluster would refuse these jobs: {_message(process)} "
            "(check --partition, --account, --qos, --time, the resources asked and --sbatch)"
        )


def queue(job_name: str) -> dict[str, tuple[str, str]] | None:
    """Task id (`123_4`, or `123` for a one-task job) → (state, reason) of this user's jobs
    called `job_name`, finished ones included while the controller remembers them (MinJobAge).
    None when squeue cannot answer: then nothing can be said about tasks without records."""
    try:
        process = _run(
            "squeue", "--noheader", "--array", "--states=all", f"--user={getpass.getuser()}", f"--name={job_name}",
            "--format=%i|%T|%r",
        )
    except SchedulerError:
        return None
    if process.returncode:
        return None
    tasks = {}
    for line in process.stdout.splitlines():
        task, state, reason = (line.split("|") + ["", ""])[:3]
        if task.strip():
            tasks[task.strip()] = (state.strip(), reason.strip())
    return tasks


def cancel(job_ids: list[str]) -> None:
    process = _run("scancel", *job_ids)
    if process.returncode:
        raise SchedulerError(f"scancel {' '.join(job_ids)}: {_message(process)}")
