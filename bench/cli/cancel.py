"""`bench cancel SWEEP`: cancel a SLURM sweep's queued and running tasks."""

from __future__ import annotations

import sys

from bench import paths


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "cancel",
        help="cancel a SLURM sweep's queued and running jobs",
        description="Cancel every queued or running task of a SLURM sweep (scancel). Finished cells keep\n"
        "their records; running the same `bench run` again submits the others.",
    )
    parser.add_argument("sweep", metavar="SWEEP", help="sweep id, as `bench run` and `bench status` print it")
    parser.add_argument("--results", help="results root (default: $BENCH_RESULTS or ./results)")
    parser.set_defaults(func=main)


def main(args) -> int:
    from bench.executors.slurm import scheduler
    from bench.executors.slurm.state import Sweep

    sweep = Sweep.load(paths.results_dir(args.results), args.sweep)
    scheduler.require()
    queue = scheduler.queue(sweep.job_name)
    if queue is None:
        print("bench cancel: squeue did not answer: nothing was cancelled; try again", file=sys.stderr)
        return 1
    ours = {task.id for submission in sweep.submissions for task in submission.tasks}
    live = sorted(task for task, (state, _) in queue.items() if task in ours and state in scheduler.ALIVE)
    if not live:
        print(f"nothing to cancel: no task of sweep {sweep.id} is queued or running")
        return 0
    arrays = sorted({task.split("_")[0] for task in live})
    try:
        scheduler.cancel(arrays)
    except scheduler.SchedulerError as error:
        print(f"bench cancel: {error}", file=sys.stderr)
        return 1
    print(f"cancelled {len(live)} queued or running task(s) of sweep {sweep.id} (jobs {', '.join(arrays)}); "
          f"`bench status {sweep.id}` shows what finished")
    return 0
