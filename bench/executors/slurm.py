"""`slurm`: cells as SLURM job arrays, submitted through submitit.

`prepare(cells)` checks everything before anything is queued: the SLURM commands, the
partition, the time limit, the packing of cells into tasks, a clean git tree (or
`allow_dirty`), and — with `sbatch --test-only` — that the controller would take the exact
script. `submit` then snapshots the code, submits one `map_array` per at most MaxArraySize
tasks, and records the sweep so that `bench status` and `bench cancel` work from any shell.
Handles finish when their cell's record appears, or when their task has left the queue without
writing one; results always come from the records.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

from bench.cell import Cell
from bench.code import CodeState, git_state, snapshot
from bench.errors import UserError
from bench.executors.base import CellHandle, CellWorker, Executor
from bench.slurm import scheduler
from bench.slurm.options import SlurmOptions, sbatch_script
from bench.slurm.packing import Packing, default_packing, estimate_cell_seconds, pack
from bench.slurm.sweeps import SWEEPS, Submission, Sweep, Task, is_fresh, now
from bench.store import Store

DEFAULT_TIME_MIN = 60  # when neither --time nor the partition's DefaultTime says
DEFAULT_REQUEUES = 3  # submitit's


class TaskEnded(RuntimeError):
    """A cell's SLURM task left the queue without writing the cell's record."""


@dataclass
class Prepared:
    """What `submit` will queue: checked, nothing submitted yet."""

    tasks: list[list[Cell]]
    packing: Packing
    time_min: int
    parameters: dict
    code: CodeState
    max_array: int

    @property
    def arrays(self) -> int:
        return -(-len(self.tasks) // self.max_array)


def tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.rstrip().splitlines()[-lines:])


class SlurmHandle(CellHandle):
    def __init__(self, cell: Cell, executor: "SlurmExecutor", task: Task, submission: Submission):
        super().__init__(cell)
        self._executor = executor
        self.task = task
        self.submission = submission
        self._record: dict | None = None
        self._ended: str | None = None

    def refresh(self, queue: dict[str, tuple[str, str]] | None) -> bool:
        """Look at the record, then (with `queue`, taken before) at the task; True once done."""
        if self.done():
            return True
        record = self._executor.store.read(self.cell.key)
        if is_fresh(record, self.submission):
            self._record = record
        elif queue is not None and queue.get(self.task.id, ("", ""))[0] not in scheduler.ALIVE:
            state = queue.get(self.task.id, ("gone from the queue", ""))[0]
            self._ended = (
                f"SLURM task {self.task.id} ended ({state}) without writing this cell's record; "
                f"log {self.task.log}:\n{tail(self.task.log)}"
            )
        return self.done()

    def done(self) -> bool:
        return self._record is not None or self._ended is not None

    def result(self) -> dict:
        while not self.done():
            self._executor.poll([self])
            if not self.done():
                time.sleep(self._executor.poll_interval())
        if self._ended is not None:
            raise TaskEnded(self._ended)
        return self._record

    @property
    def log_path(self) -> Path:
        return Path(self.task.log)


class SlurmExecutor(Executor):
    name = "slurm"

    def __init__(self, options: SlurmOptions, store: Store, sweep: Sweep, *, allow_dirty: bool = False, rerun: bool = False):
        self.options = options
        self.store = store
        self.sweep = sweep
        self.allow_dirty = allow_dirty
        self.rerun = rerun
        self.prepared: Prepared | None = None
        self._started = time.monotonic()

    # -- before anything is queued -----------------------------------------------------------
    def prepare(self, cells: Sequence[Cell]) -> Prepared:
        """Every check, in order from cheapest; raises UserError and queues nothing."""
        scheduler.require()
        options = self.options
        partition = scheduler.partition(options.partition)
        time_min = options.time or partition.default_time or min(partition.max_time or DEFAULT_TIME_MIN, DEFAULT_TIME_MIN)
        if partition.max_time is not None and time_min > partition.max_time:
            raise UserError(f"--time {time_min} min is over partition {partition.name}'s limit of {partition.max_time} min")
        if options.cells_per_job:
            packing = Packing(options.cells_per_job, "--cells-per-job")
        else:
            slots = partition.cpus // (options.cpus_per_task or 1)
            if options.gpus_per_node:
                slots = min(slots, partition.gpus // options.gpus_per_node)
            slots = max(1, min(slots, options.array_parallelism or 256))
            packing = default_packing(len(cells), slots, estimate_cell_seconds(cells, self.store), time_min)
        code = git_state()
        if code.dirty and not self.allow_dirty:
            more = f" and {len(code.dirty) - 3} more" if len(code.dirty) > 3 else ""
            raise UserError(
                f"uncommitted changes in {', '.join(code.dirty[:3])}{more}: commit them, so that every record's "
                "git commit names the code its task ran, or pass --allow-dirty (tasks still run a snapshot of this code)"
            )
        tasks = pack(cells, packing.cells_per_job)
        max_array = scheduler.max_array_size()
        parameters = options.sbatch_parameters(job_name=self.sweep.job_name, time_min=time_min, setup=[])
        scheduler.test_submission(sbatch_script(self.folder, parameters, min(len(tasks), max_array)))
        self.prepared = Prepared(tasks, packing, time_min, parameters, code, max_array)
        return self.prepared

    @property
    def folder(self) -> Path:
        """submitit's folder: sbatch scripts, pickles, one log per task."""
        return self.sweep.dir / "jobs"

    # -- submitting ------------------------------------------------------------------------------
    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        import submitit

        from bench.slurm.task import SlurmTask

        prepared = self.prepared or self.prepare(cells)
        code_dir, code = snapshot(Path(self.sweep.results) / SWEEPS / "code", prepared.code)
        quoted = shlex.quote(str(code_dir))
        # Tasks import nearbench from the snapshot: first on the path, and the working directory.
        setup = [f"cd {quoted}", f"export PYTHONPATH={quoted}${{PYTHONPATH:+:$PYTHONPATH}}"]
        parameters = {**prepared.parameters, "setup": [*prepared.parameters["setup"], *setup]}
        requeues = DEFAULT_REQUEUES if self.options.requeues is None else self.options.requeues
        backend = submitit.SlurmExecutor(folder=self.folder, max_num_timeout=requeues)
        backend.update_parameters(**parameters)
        submission = Submission(
            submitted_at=now(), arrays=[], tasks=[], code={"dir": str(code_dir), **asdict(code)}, parameters=parameters
        )
        self.sweep.submissions.append(submission)
        handles: list[CellHandle] = []
        chunks = [prepared.tasks[i : i + prepared.max_array] for i in range(0, len(prepared.tasks), prepared.max_array)]
        for number, chunk in enumerate(chunks, 1):
            try:
                jobs = backend.map_array(SlurmTask(worker, rerun=self.rerun), chunk)
            except Exception as error:
                self.sweep.save()
                queued = f"; queued so far: {', '.join(submission.arrays)} (`bench cancel {self.sweep.id}`)" if submission.arrays else ""
                raise UserError(f"sbatch refused array {number} of {len(chunks)}: {error}{queued}") from None
            submission.arrays.append(jobs[0].job_id.split("_")[0])
            for job, task_cells in zip(jobs, chunk):
                task = Task(id=job.job_id, cells=[c.key for c in task_cells], log=str(job.paths.stdout))
                submission.tasks.append(task)
                handles.extend(SlurmHandle(cell, self, task, submission) for cell in task_cells)
            self.sweep.save()
        return handles

    # -- observing -------------------------------------------------------------------------------
    def poll_interval(self) -> float:
        elapsed = time.monotonic() - self._started
        return 2.0 if elapsed < 120 else 5.0 if elapsed < 900 else 15.0

    def poll(self, handles: Sequence[SlurmHandle]) -> list[SlurmHandle]:
        """One look at the queue, then at the records; the handles that are now done."""
        queue = scheduler.queue(self.sweep.job_name)
        return [handle for handle in handles if handle.refresh(queue)]

    def as_completed(self, handles: Sequence[CellHandle]) -> Iterator[CellHandle]:
        waiting = list(handles)
        while waiting:
            finished = self.poll(waiting)
            yield from finished
            waiting = [handle for handle in waiting if not handle.done()]
            if waiting:
                time.sleep(self.poll_interval())
