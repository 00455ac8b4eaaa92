"""`bench status [SWEEP]`: where a SLURM sweep stands, from its records and the queue."""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict

from bench import paths


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "status",
        help="how far a SLURM sweep has got: cells done, running, pending, failed",
        description="Count a SLURM sweep's cells by status, from the records and squeue, and show the\n"
        "error and the end of the log of each failed or missing cell. Works from any shell:\n"
        "everything it reads lives under the results root.\n\n"
        "done: a successful record. running / pending: its task is running it / will.\n"
        "failed: its record says so. missing: its task ended (cancelled, killed, out of time)\n"
        "without writing a record. unknown: no record, and squeue did not answer.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sweep", nargs="?", metavar="SWEEP", help="sweep id (default: the latest sweep)")
    parser.add_argument("--results", help="results root (default: $BENCH_RESULTS or ./results)")
    parser.add_argument("--lines", type=int, default=10, metavar="N", help="log lines shown per task with failed or missing cells (default 10)")
    parser.set_defaults(func=main)


def status_of(sweep, store):
    """The sweep's cell statuses (the queue first, then the records), and whether squeue answered."""
    from bench.executors.slurm import scheduler
    from bench.executors.slurm.state import cell_statuses

    queue = scheduler.queue(sweep.job_name)
    return cell_statuses(sweep, store, queue), queue is not None


def render(sweep, statuses, lines: int) -> str:
    from bench.executors.slurm.executor import tail
    from bench.executors.slurm.state import STATUSES

    counts = Counter(s.status for s in statuses)
    last = sweep.submissions[-1] if sweep.submissions else None
    out = [
        f"sweep {sweep.id}: {len(statuses)} cells, {len(sweep.submissions)} submission(s), "
        f"last {last.submitted_at if last else 'never'}; jobs {', '.join(sweep.array_ids()) or 'none'}",
        "  " + "   ".join(f"{name} {counts[name]}" for name in STATUSES if counts[name] or name != "unknown"),
    ]
    running = sorted({s.task.id for s in statuses if s.status == "running"})
    if running:
        out.append(f"  running in task(s) {', '.join(running)}")
    by_task = defaultdict(list)
    for s in statuses:
        if s.status in ("failed", "missing"):
            by_task[s.task.log if s.task else ""].append(s)
    for log, bad in by_task.items():
        out.append("")
        for s in bad:
            out.append(f"{s.status}: {s.key} — {s.detail}")
        if log:
            out.append(f"  last lines of {log}:")
            out.extend(f"  | {line}" for line in tail(log, lines).splitlines())
    if counts["failed"] or counts["missing"]:
        out += ["", f"to run the failed and missing cells again: {sweep.command}"]
    return "\n".join(out)


def main(args) -> int:
    from bench.errors import UserError
    from bench.executors.slurm.state import Sweep
    from bench.store import Store

    results = paths.results_dir(args.results)
    if args.sweep:
        sweep = Sweep.load(results, args.sweep)
    else:
        damaged: list[str] = []
        sweeps = Sweep.all(results, damaged)
        for message in damaged:
            print(f"notice: {message}", file=sys.stderr)
        if not sweeps:
            raise UserError(f"no SLURM sweeps under {results}: submit one with `bench run --executor slurm`, or point --results at its results root")
        sweep = sweeps[-1]
        if len(sweeps) > 1:
            others = ", ".join(s.id for s in sweeps[:-1])
            print(f"(the latest of {len(sweeps)} sweeps; the others: {others})", file=sys.stderr)
    statuses, answered = status_of(sweep, Store(results))
    if not answered:
        print("notice: the SLURM queue is unreachable (squeue did not answer; is slurmctld restarting?): cells "
              "without a record are shown as unknown; the jobs go on", file=sys.stderr)
    print(render(sweep, statuses, args.lines))
    return 0
