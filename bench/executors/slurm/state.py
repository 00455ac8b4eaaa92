"""A SLURM sweep: its state file, and the status of each of its cells.

`<results>/sweeps/<id>/sweep.json` holds the sweep's cells and, for each submission, its job
arrays, which cells each task runs and each task's log; submitit's files (sbatch scripts,
pickles, one log per task) live in `<results>/sweeps/<id>/jobs/`. The id is derived from the
results root and the cells, so running the same `bench run` again adds a submission to the
same sweep. `bench status` and `bench cancel` need only this file, the records and squeue:
they work from any shell, long after the submitting one is gone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from bench.errors import UserError
from bench.atomic import write_json
from bench.digest import digest
from bench.executors.slurm.scheduler import ALIVE
from bench.records import OK
from bench.store import Store

SWEEPS = "sweeps"
STATE = "sweep.json"
STATUSES = ("done", "running", "pending", "failed", "missing", "unknown")


class CorruptSweep(UserError):
    """A sweep's state file cannot be read; the message names it and the way out."""


def sweep_id(results_root: Path, keys: Iterable[str]) -> str:
    return digest([str(Path(results_root).resolve()), *sorted(keys)], 8)


@dataclass
class Task:
    id: str  # SLURM's id for it: `123_4` (array task) or `123` (a one-task submission)
    cells: list[str]  # keys, in the order the task runs them
    log: str


@dataclass
class Submission:
    submitted_at: str
    arrays: list[str]
    tasks: list[Task]
    code: dict  # the snapshot the tasks import: dir, commit, dirty, sha256
    parameters: dict  # what submitit wrote into the sbatch scripts

    @classmethod
    def from_dict(cls, data: dict) -> "Submission":
        return cls(**{**data, "tasks": [Task(**task) for task in data["tasks"]]})


@dataclass
class Sweep:
    id: str
    results: str
    command: str
    created: str
    cells: list[str]
    submissions: list[Submission] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return Path(self.results) / SWEEPS / self.id

    @property
    def job_name(self) -> str:
        return f"bench-{self.id}"

    def save(self) -> None:
        write_json(self.dir / STATE, asdict(self))

    @staticmethod
    def exists(results_root: Path, sweep: str) -> bool:
        return (Path(results_root) / SWEEPS / sweep / STATE).is_file()

    @classmethod
    def load(cls, results_root: Path, sweep: str) -> "Sweep":
        path = Path(results_root) / SWEEPS / sweep / STATE
        if not path.is_file():
            known = [s.id for s in cls.all(results_root)]
            hint = f"known: {', '.join(known)}" if known else "none yet: submit with `bench run --executor slurm`"
            raise UserError(f"no sweep {sweep!r} under {Path(results_root) / SWEEPS} ({hint}); or point --results at its results root")
        try:
            data = json.loads(path.read_text())
            return cls(**{**data, "submissions": [Submission.from_dict(s) for s in data["submissions"]]})
        except (OSError, ValueError, TypeError, KeyError) as error:  # truncated, not JSON, not a sweep's
            why = f"{type(error).__name__}: {error}" if not isinstance(error, OSError) else error.strerror
            raise CorruptSweep(
                f"sweep {sweep}: its state file {path} is damaged ({why}); its records are intact "
                f"(`bench table` reads them); delete {path.parent} to forget the sweep, or run its "
                "`bench run` again to submit what is missing"
            ) from None

    @classmethod
    def all(cls, results_root: Path, damaged: list[str] | None = None) -> list["Sweep"]:
        """Every readable sweep under the results root, oldest first; the message of each
        damaged one is appended to `damaged` (when given) instead of failing the others."""
        folder = Path(results_root) / SWEEPS
        paths = sorted(folder.glob(f"*/{STATE}"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
        sweeps = []
        for path in paths:
            try:
                sweeps.append(cls.load(results_root, path.parent.name))
            except CorruptSweep as error:
                if damaged is not None:
                    damaged.append(str(error))
        return sweeps

    def latest_tasks(self) -> dict[str, tuple[Task, Submission]]:
        """Cell key → the task (and its submission) that last took the cell."""
        latest = {}
        for submission in self.submissions:
            for task in submission.tasks:
                for key in task.cells:
                    latest[key] = (task, submission)
        return latest

    def array_ids(self) -> list[str]:
        return [array for submission in self.submissions for array in submission.arrays]


def is_fresh(record: dict | None, submission: Submission) -> bool:
    """Whether `record` was written by a task of `submission`: its provenance names one of the
    submission's job arrays (exact, unlike comparing timestamps of whole seconds)."""
    job = ((record or {}).get("provenance") or {}).get("slurm_job_id")
    return job is not None and str(job) in submission.arrays


@dataclass(frozen=True)
class CellStatus:
    key: str
    status: str  # one of STATUSES
    task: Task | None
    detail: str = ""  # the error of a failed cell; the queue's state or reason otherwise
    record: dict | None = None


def cell_statuses(sweep: Sweep, store: Store, queue: dict[str, tuple[str, str]] | None) -> list[CellStatus]:
    """Each cell's status, from its record and its task's state in `queue` (None: squeue
    could not answer). Take `queue` before calling: a record is written before its task
    leaves the queue, so reading records afterwards never mistakes a finished cell for a
    missing one.

    - done: a successful record. failed: a failed record written since the cell's last
      submission. running: the first cell without either in a running task (tasks run their
      cells in order); pending: the others of running tasks, and those of queued tasks.
    - missing: the task ended — finished, cancelled, killed, out of time — without a record
      for the cell. unknown: no record and no answer from squeue.
    """
    latest = sweep.latest_tasks()
    records = {key: store.read(key) for key in sweep.cells}

    def settled(key: str) -> bool:  # done, or failed in its latest task
        record = records.get(key)
        return record is not None and (record.get("status") == OK or is_fresh(record, latest[key][1]))

    # a running task is on the first of its cells (in its own order) that is not settled
    running = {
        next((key for key in task.cells if not settled(key)), None)
        for task, _ in latest.values()
        if queue is not None and queue.get(task.id, ("", ""))[0] == "RUNNING"
    }
    statuses = []
    for key in sweep.cells:
        record = records[key]
        task, submission = latest.get(key, (None, None))
        if record is not None and record.get("status") == OK:
            statuses.append(CellStatus(key, "done", task, record=record))
            continue
        if task is None:  # done when the sweep was submitted (its record went away since), or never sent
            statuses.append(CellStatus(key, "missing", None, "in no submitted task", record))
            continue
        if is_fresh(record, submission):
            error = record.get("error", {})
            statuses.append(CellStatus(key, "failed", task, f"{error.get('type')}: {error.get('message')}", record))
            continue
        if queue is None:
            statuses.append(CellStatus(key, "unknown", task, "squeue did not answer"))
            continue
        state, reason = queue.get(task.id, ("", ""))
        if state not in ALIVE:
            statuses.append(CellStatus(key, "missing", task, f"task {task.id} ended ({state or 'gone from the queue'})"))
        elif key in running:
            statuses.append(CellStatus(key, "running", task, f"task {task.id}"))
        else:
            why = f" ({reason})" if reason not in ("", "None") else ""
            statuses.append(CellStatus(key, "pending", task, f"task {task.id} {state.lower()}{why}"))
    return statuses
