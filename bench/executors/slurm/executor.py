"""`slurm`: cells as SLURM job arrays, submitted through submitit.

`prepare(cells)` checks everything before anything is queued: the SLURM commands, a GPU in
each job when `--device cuda` asks for one, the cells an earlier submission of the same sweep
still has queued or running (left to it), the partition, the time limit, the packing of cells
into tasks, a clean git tree (or `allow_dirty`), and — with `sbatch --test-only` — that the
controller would take the exact script. `submit` then snapshots the code, submits one
`map_array` per at most MaxArraySize tasks, and records the sweep so that `bench status` and
`bench cancel` work from any shell. Handles finish when their cell's record appears, or when
their task has left the queue without writing one; results always come from the records.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from bench.cell import Cell
from bench.code import CodeState, git_state, snapshot
from bench.errors import UserError
from bench.execution import CellHandle, Executor, Preparation
from bench.executors.slurm import scheduler
from bench.executors.slurm.options import SlurmOptions, sbatch_script
from bench.executors.slurm.packing import Packing, default_packing, estimate_cell_seconds, pack
from bench.executors.slurm.state import SWEEPS, Submission, Sweep, Task, cell_statuses, is_fresh, sweep_id
from bench.store import Store
from bench.timestamps import utc_now
from bench.worker import CellWorker

DEFAULT_TIME_MIN = 60  # when neither --time nor the partition's DefaultTime says
DEFAULT_REQUEUES = 3  # submitit's
BUSY = ("running", "pending", "unknown")  # statuses of cells an earlier submission may still run


class TaskEnded(RuntimeError):
    """A cell's SLURM task left the queue without writing the cell's record."""


@dataclass
class SlurmRequest:
    """A SLURM sweep as `bench run` asks for it.

    `plan_keys` are the keys of every cell of the plan, done ones included: they name the
    sweep, so running the same `bench run` again adds a submission to the same sweep.
    `device` is checked against the options (a GPU asked for needs one in each job).
    """

    options: SlurmOptions = field(default_factory=SlurmOptions)
    results_root: Path = Path("results")
    plan_keys: list[str] = field(default_factory=list)
    command: str = "bench run --executor slurm"
    device: str = "auto"
    allow_dirty: bool = False
    rerun: bool = False
    stale: frozenset = frozenset()  # keys of cells whose records are stale: their tasks run them again
    wait: bool = False


@dataclass
class Queued:
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

    def __init__(self, request: SlurmRequest):
        self.request = request
        self.options = request.options
        self.wait = request.wait
        self.store = Store(Path(request.results_root).resolve())
        self.sweep = self._sweep()
        self.queued: Queued | None = None
        self._started = time.monotonic()

    def _sweep(self) -> Sweep:
        """The sweep of this plan: loaded when an earlier `bench run` submitted it, else new."""
        ident = sweep_id(self.store.root, self.request.plan_keys)
        if Sweep.exists(self.store.root, ident):
            return Sweep.load(self.store.root, ident)
        return Sweep(id=ident, results=str(self.store.root), command=self.request.command, created=utc_now(),
                     cells=list(self.request.plan_keys))

    # -- before anything is queued -----------------------------------------------------------
    def prepare(self, cells: Sequence[Cell]) -> Preparation:
        """Every check, in order from cheapest; raises UserError and queues nothing."""
        scheduler.require()
        if self.request.device.startswith("cuda") and not self.options.asks_for_gpus():
            raise UserError(f"--device {self.request.device} needs a GPU in each job: add --gpus-per-node 1 "
                            "(or set it in the --cluster profile)")
        cells, notices = self._not_busy(cells)
        if not cells:
            return Preparation([], f"nothing to submit: the cells are queued or running in sweep {self.sweep.id}", notices)
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
        if code.dirty and not self.request.allow_dirty:
            more = f" and {len(code.dirty) - 3} more" if len(code.dirty) > 3 else ""
            raise UserError(
                f"uncommitted changes in {', '.join(code.dirty[:3])}{more}: commit them, so that every record's "
                "git commit names the code its task ran, or pass --allow-dirty (tasks still run a snapshot of this code)"
            )
        tasks = pack(cells, packing.cells_per_job)
        max_array = scheduler.max_array_size()
        parameters = options.sbatch_parameters(job_name=self.sweep.job_name, time_min=time_min, setup=[])
        scheduler.test_submission(sbatch_script(self.folder, parameters, min(len(tasks), max_array)))
        self.queued = Queued(tasks, packing, time_min, parameters, code, max_array)
        sizes = sorted({len(task) for task in tasks})
        description = (
            f"sweep {self.sweep.id}: {len(cells)} cells as {len(tasks)} SLURM task(s) of {'–'.join(map(str, sizes))} cell(s) "
            f"({packing.why}) in {self.queued.arrays} job array(s), {time_min} min each"
        )
        return Preparation(list(cells), description, notices)

    def _not_busy(self, cells: Sequence[Cell]) -> tuple[list[Cell], list[str]]:
        """The cells no earlier submission of this sweep still has queued or running."""
        if not self.sweep.submissions:
            return list(cells), []
        statuses = cell_statuses(self.sweep, self.store, scheduler.queue(self.sweep.job_name))
        busy = {s.key for s in statuses if s.status in BUSY} & {cell.key for cell in cells}
        if not busy:
            return list(cells), []
        notice = (f"{len(busy)} cell(s) of sweep {self.sweep.id} are still queued or running: not submitted again "
                  f"(`bench status {self.sweep.id}`; `bench cancel {self.sweep.id}` to stop them)")
        return [cell for cell in cells if cell.key not in busy], [notice]

    @property
    def folder(self) -> Path:
        """submitit's folder: sbatch scripts, pickles, one log per task."""
        return self.sweep.dir / "jobs"

    # -- submitting ------------------------------------------------------------------------------
    def submit(self, cells: Sequence[Cell], worker: CellWorker) -> list[CellHandle]:
        import submitit

        from bench.executors.slurm.task import SlurmTask

        if self.queued is None or sorted(c.key for task in self.queued.tasks for c in task) != sorted(c.key for c in cells):
            self.prepare(cells)
        queued = self.queued
        code_dir, code = snapshot(Path(self.sweep.results) / SWEEPS / "code", queued.code)
        quoted = shlex.quote(str(code_dir))
        # Tasks import nearbench from the snapshot: first on the path, and the working directory.
        setup = [f"cd {quoted}", f"export PYTHONPATH={quoted}${{PYTHONPATH:+:$PYTHONPATH}}"]
        parameters = {**queued.parameters, "setup": [*queued.parameters["setup"], *setup]}
        requeues = DEFAULT_REQUEUES if self.options.requeues is None else self.options.requeues
        backend = submitit.SlurmExecutor(folder=self.folder, max_num_timeout=requeues)
        backend.update_parameters(**parameters)
        submission = Submission(
            submitted_at=utc_now(), arrays=[], tasks=[], code={"dir": str(code_dir), **asdict(code)}, parameters=parameters
        )
        self.sweep.submissions.append(submission)
        handles: list[CellHandle] = []
        chunks = [queued.tasks[i : i + queued.max_array] for i in range(0, len(queued.tasks), queued.max_array)]
        for number, chunk in enumerate(chunks, 1):
            try:
                jobs = backend.map_array(SlurmTask(worker, rerun=self.request.rerun, stale=self.request.stale), chunk)
            except Exception as error:
                self.sweep.save()
                queued_so_far = f"; queued so far: {', '.join(submission.arrays)} (`bench cancel {self.sweep.id}`)" if submission.arrays else ""
                raise UserError(f"sbatch refused array {number} of {len(chunks)}: {error}{queued_so_far}") from None
            submission.arrays.append(jobs[0].job_id.split("_")[0])
            for job, task_cells in zip(jobs, chunk):
                task = Task(id=job.job_id, cells=[c.key for c in task_cells], log=str(job.paths.stdout))
                submission.tasks.append(task)
                handles.extend(SlurmHandle(cell, self, task, submission) for cell in task_cells)
            self.sweep.save()
        return handles

    def _follow(self) -> str:
        return f"--results {shlex.quote(str(self.store.root))}"

    def submitted(self) -> list[str]:
        last = self.sweep.submissions[-1]
        return [
            f"  jobs:    {', '.join(last.arrays)}",
            f"  follow:  bench status {self.sweep.id} {self._follow()}",
            f"  cancel:  bench cancel {self.sweep.id} {self._follow()}",
            f"  results: bench table {self._follow()}",
        ]

    def interrupted(self) -> str:
        return f"stopped waiting; the jobs go on: bench status {self.sweep.id} {self._follow()}"

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
