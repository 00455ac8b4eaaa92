"""`bench run --executor slurm`: the SLURM options, and submitting a planned sweep."""

from __future__ import annotations

import shlex
import sys

from bench.errors import UserError

# option → (argparse keywords); the names are SlurmOptions' fields with hyphens
OPTIONS = {
    "partition": dict(metavar="NAME", help="partition (default: the cluster's default one)"),
    "account": dict(metavar="NAME", help="account to charge"),
    "qos": dict(metavar="NAME", help="quality of service"),
    "gpus-per-node": dict(type=int, metavar="N", help="GPUs for each job"),
    "cpus-per-task": dict(type=int, metavar="N", help="CPU cores for each job; its cells use that many threads"),
    "mem": dict(metavar="SIZE", help="memory for each job: 16G, 500M"),
    "time": dict(metavar="LIMIT", help="time limit of each job: minutes or [D-]H:MM:SS "
                 "(default: the partition's default time, else 60 minutes)"),
    "constraint": dict(metavar="FEATURES", help="node features, e.g. a100"),
    "array-parallelism": dict(type=int, metavar="N", help="most tasks of one array running at once (default 256)"),
    "cells-per-job": dict(type=int, metavar="N", help="cells each job runs one after another (default: enough to fill "
                          "the partition's job slots once; with earlier records of these cells, at least 5 minutes of "
                          "cells per job, within half the time limit)"),
    "requeues": dict(type=int, metavar="N", help="times a job that reaches its time limit is requeued to finish its "
                     "unfinished cells (default 3)"),
    "sbatch": dict(action="append", metavar="KEY=VALUE", help="any other sbatch option, without its dashes: "
                   "--sbatch mail-type=FAIL, --sbatch exclusive (repeatable)"),
}


def add_arguments(parser) -> None:
    group = parser.add_argument_group(
        "SLURM (--executor slurm)",
        "Cells run as SLURM job arrays; the command returns once they are queued (see --wait). "
        "Options override the --cluster profile's.",
    )
    group.add_argument("--cluster", metavar="NAME", help="a profile of SLURM options in clusters.toml "
                       "(~/.config/nearbench/ or ./nearbench-clusters.toml); implies --executor slurm")
    for name, keywords in OPTIONS.items():
        group.add_argument(f"--{name}", dest=f"slurm_{name.replace('-', '_')}", **keywords)
    group.add_argument("--allow-dirty", action="store_true", help="submit although the nearbench sources differ "
                       "from their git commit (tasks still run a snapshot of the code as it is now)")
    group.add_argument("--wait", action="store_true", help="stay, with a progress bar, until every cell has a record")


def given(args) -> list[str]:
    """The SLURM-only options set on the command line."""
    named = [f"--{name}" for name in OPTIONS if getattr(args, f"slurm_{name.replace('-', '_')}") is not None]
    return named + [flag for flag in ("--allow-dirty", "--wait") if getattr(args, flag[2:].replace("-", "_"))]


def options_from(args):
    """The command line's SLURM options over those of the cluster profile."""
    from bench.slurm.options import SlurmOptions
    from bench.slurm.profiles import cluster_options

    command_line = SlurmOptions.build({name: getattr(args, f"slurm_{name.replace('-', '_')}") for name in OPTIONS}, where="")
    return command_line.over(cluster_options(args.cluster))


def run_on_slurm(args, options, plan, pending, done: int, store, settings) -> int:
    """Submit `pending` (cells of `plan` without a successful record) as job arrays."""
    from bench.executors.base import CellWorker
    from bench.executors.slurm import SlurmExecutor
    from bench.slurm import scheduler
    from bench.slurm.sweeps import Sweep, cell_statuses, now, sweep_id
    from bench.store import Store
    from bench.sweep import run_sweep

    if settings.device.startswith("cuda") and not options.asks_for_gpus():
        raise UserError(f"--device {settings.device} needs a GPU in each job: add --gpus-per-node 1 (or set it in the --cluster profile)")
    scheduler.require()
    store = Store(store.root.resolve())
    keys = [cell.key for cell in plan.cells]
    ident = sweep_id(store.root, keys)
    try:
        sweep = Sweep.load(store.root, ident)
    except UserError:
        command = "bench " + shlex.join(getattr(args, "argv", None) or sys.argv[1:])
        sweep = Sweep(id=ident, results=str(store.root), command=command, created=now(), cells=keys)
    if sweep.submissions:  # cells an earlier submission still has queued or running are left to it
        busy = {s.key for s in cell_statuses(sweep, store, scheduler.queue(sweep.job_name)) if s.status in ("running", "pending", "unknown")}
        if busy & {cell.key for cell in pending}:
            print(f"notice: {len(busy)} cell(s) of sweep {sweep.id} are still queued or running: not submitted again "
                  f"(`bench status {sweep.id}`; `bench cancel {sweep.id}` to stop them)", file=sys.stderr)
            pending = [cell for cell in pending if cell.key not in busy]
    if not pending:
        print(f"nothing to submit: {done} cell(s) done, the others queued or running in sweep {sweep.id}")
        return 0

    executor = SlurmExecutor(options, store, sweep, allow_dirty=args.allow_dirty, rerun=args.rerun)
    prepared = executor.prepare(pending)
    sizes = sorted({len(task) for task in prepared.tasks})
    shape = (
        f"{len(pending)} cells as {len(prepared.tasks)} task(s) of {'–'.join(map(str, sizes))} cell(s) "
        f"({prepared.packing.why}) in {prepared.arrays} job array(s), {prepared.time_min} min each"
    )
    if args.dry_run:
        print(f"slurm: would submit {shape}")
        return 0
    follow = f"--results {shlex.quote(str(store.root))}"
    if not args.wait:
        executor.submit(pending, CellWorker(store.root, settings))
        print(f"sweep {sweep.id}: submitted {shape}: jobs {', '.join(sweep.submissions[-1].arrays)}")
        print(f"  follow:  bench status {sweep.id} {follow}")
        print(f"  cancel:  bench cancel {sweep.id} {follow}")
        print(f"  results: bench table {follow}")
        return 0
    print(f"sweep {sweep.id}: submitting {shape}; waiting (Ctrl-C stops waiting, not the jobs: "
          f"bench status {sweep.id} {follow})", file=sys.stderr)
    try:
        summary = run_sweep(pending, executor, store, settings, skipped=done, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"bench run: stopped waiting; the jobs go on: bench status {sweep.id} {follow}", file=sys.stderr)
        return 130
    print(summary.line(store))
    return 1 if summary.failed else 0
