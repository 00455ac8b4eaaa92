"""The SLURM options of `bench run`: parsed, checked, merged with a cluster profile, and turned
into the parameters submitit writes into each array's sbatch script."""

from __future__ import annotations

import math
import re
import shlex
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from bench.errors import UserError

# sbatch keys nearbench writes itself (the array, its logs, the requeue signal, the job name)
MANAGED = ("array", "output", "error", "open-mode", "signal", "job-name")
MEM = re.compile(r"\d+[KMGT]?B?", re.IGNORECASE)


def parse_time(value: Any, option: str = "--time") -> int:
    """A SLURM time limit (`90`, `1:30:00`, `2-00:00:00`, `30:00` = minutes:seconds) in whole
    minutes, rounded up.

    >>> [parse_time(text) for text in ("90", "1:30:00", "2-00:00:00", "30:30")]
    [90, 90, 2880, 31]
    """
    text = str(value).strip()
    try:
        if "-" in text:  # D-H, D-H:M, D-H:M:S
            days, rest = text.split("-", 1)
            parts = [int(days), *(int(p) for p in rest.split(":"))]
            if len(parts) > 4:
                raise ValueError
            d, h, m, s = parts + [0] * (4 - len(parts))
        else:  # M, M:S, H:M:S
            parts = [int(p) for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
            d, h, m, s = [0, *parts] if len(parts) == 3 else [0, 0, *parts, *([0] * (2 - len(parts)))]
        if min(d, h, m, s) < 0:
            raise ValueError
        total = ((d * 24 + h) * 60 + m) * 60 + s
    except ValueError:
        total = 0
    if total <= 0:
        raise UserError(f"{option} {text!r}: write minutes (90) or [D-]H:MM:SS (1:30:00, 2-00:00:00)")
    return math.ceil(total / 60)


def signal_delay_s(time_min: int) -> int:
    """How long before the time limit a task is told to checkpoint (SIGUSR2).

    SLURM checks time limits about every 30 s and may signal up to a minute early, so the
    warning must exceed 30 s to arrive at all; submitit's 90 s for limits of 6 minutes or
    more, a quarter of the limit (at least 40 s) below that.
    """
    return min(90, max(40, time_min * 60 // 4))


@dataclass
class SlurmOptions:
    """What `--cluster` and the SLURM options of `bench run` ask for; None = SLURM's default."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    time: int | None = None  # minutes; None = the partition's default
    constraint: str | None = None
    array_parallelism: int | None = None
    cells_per_job: int | None = None
    requeues: int | None = None
    sbatch: dict[str, str | bool] = field(default_factory=dict)
    setup: list[str] = field(default_factory=list)

    @classmethod
    def names(cls) -> list[str]:
        """Option names as written on the command line and in profiles (with hyphens)."""
        return [f.name.replace("_", "-") for f in fields(cls)]

    @classmethod
    def build(cls, given: Mapping[str, Any], where: str) -> "SlurmOptions":
        """Options from `given` (option name → value; hyphens or underscores), checked; `where`
        names the source in messages (`--cluster gpu (clusters.toml)`, or `` for the command line)."""
        options = cls()
        known = {f.name: f for f in fields(cls)}
        for raw_name, value in given.items():
            name = raw_name.replace("-", "_")
            if name not in known:
                raise UserError(f"{where}: unknown key {raw_name!r} (known: {', '.join(cls.names())})")
            if value is None:
                continue
            setattr(options, name, _check(name, value, where))
        return options

    def over(self, base: "SlurmOptions") -> "SlurmOptions":
        """These options where set, else `base`'s; `--sbatch` extras merge key by key."""
        merged = SlurmOptions(**{f.name: getattr(base, f.name) for f in fields(self)})
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "sbatch":
                merged.sbatch = {**base.sbatch, **value}
            elif f.name == "setup":
                merged.setup = [*base.setup, *value]
            elif value is not None:
                setattr(merged, f.name, value)
        return merged

    def asks_for_gpus(self) -> bool:
        return bool(self.gpus_per_node) or any(key in self.sbatch for key in ("gres", "gpus", "gpus-per-task", "gpus-per-node"))

    def sbatch_parameters(self, *, job_name: str, time_min: int, setup: list[str]) -> dict[str, Any]:
        """submitit `SlurmExecutor.update_parameters` keywords for one sweep's arrays."""
        params: dict[str, Any] = {
            "job_name": job_name,
            "time": time_min,
            "signal_delay_s": signal_delay_s(time_min),
            "stderr_to_stdout": True,  # one log per task, in order
            "setup": [*self.setup, *setup],
        }
        for name in ("partition", "account", "qos", "gpus_per_node", "cpus_per_task", "mem", "constraint", "array_parallelism"):
            if getattr(self, name) is not None:
                params[name] = getattr(self, name)
        if self.sbatch:
            params["additional_parameters"] = dict(self.sbatch)
        return params


CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a newline would start a line of the sbatch script


def _one_line(option: str, value: Any) -> None:
    """Refuse a text value with a newline, NUL or other control character: written into the
    sbatch script, it would become a shell line of its own."""
    if isinstance(value, Mapping):
        texts = [*value.keys(), *value.values()]
    else:
        texts = list(value) if isinstance(value, (list, tuple)) else [value]
    for text in texts:
        if isinstance(text, str) and CONTROL.search(text):
            raise UserError(f"{option} {value!r}: contains a newline or control character; give it on one line")


def _check(name: str, value: Any, where: str) -> Any:
    option = f"{where}: {name.replace('_', '-')}" if where else f"--{name.replace('_', '-')}"
    _one_line(option, value)
    if name in ("gpus_per_node", "cpus_per_task", "array_parallelism", "cells_per_job", "requeues"):
        lowest = 0 if name in ("requeues", "gpus_per_node") else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise UserError(f"{option} {value!r}: give a whole number ≥ {lowest}")
        return value
    if name == "time":
        return parse_time(value, option)
    if name == "mem":
        if not MEM.fullmatch(str(value)):
            raise UserError(f"{option} {value!r}: write a size like 16G, 500M or 64000 (MB)")
        return str(value)
    if name == "sbatch":
        if isinstance(value, Mapping):
            value = [f"{k}={v}" if v is not True else k for k, v in value.items()]
        return parse_sbatch(value, option)
    if name == "setup":
        if isinstance(value, str) or not all(isinstance(line, str) for line in value):
            raise UserError(f"{option}: give a list of shell lines, e.g. [\"module load cuda\"]")
        return list(value)
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{option} {value!r}: give a name")
    return value.strip()


def parse_sbatch(items, option: str = "--sbatch") -> dict[str, str | bool]:
    """`KEY=VALUE` (or a bare `KEY` flag) extras for the sbatch script, e.g. `mail-type=FAIL`,
    `exclusive`. Keys that have their own option, or that nearbench manages, are refused."""
    dedicated = {name: f"--{name}" for name in SlurmOptions.names() if name not in ("sbatch", "setup")}
    extras: dict[str, str | bool] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.strip().lstrip("-").replace("_", "-")
        if not key or (sep and not value.strip()):
            raise UserError(f"{option} {item!r}: write KEY=VALUE (an sbatch option without its dashes), e.g. mail-type=FAIL")
        if key in MANAGED:
            raise UserError(f"{option} {item!r}: nearbench sets sbatch's --{key} itself; leave it out")
        if key in dedicated:
            raise UserError(f"{option} {item!r}: use {dedicated[key]} instead")
        extras[key] = value.strip() if sep else True
    return extras


def sbatch_script(folder: Path, parameters: Mapping[str, Any], tasks: int) -> str:
    """The sbatch script submitit writes for an array of `tasks` tasks with `parameters`
    (submitit's own generator, so what is checked is what is submitted)."""
    from submitit.slurm.slurm import _make_sbatch_string

    command = f"{shlex.quote(sys.executable)} -u -m submitit.core._submit {shlex.quote(str(folder))}"
    return _make_sbatch_string(command=command, folder=folder, map_count=tasks if tasks > 1 else None, **parameters)
