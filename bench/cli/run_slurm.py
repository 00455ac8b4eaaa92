"""The SLURM options of `bench run` (`--executor slurm`), and the request they make."""

from __future__ import annotations

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
FLAGS = ("--allow-dirty", "--wait")


def add_arguments(parser) -> None:
    group = parser.add_argument_group(
        "SLURM (--executor slurm)",
        "Cells run as SLURM job arrays; the command returns once they are queued (see --wait). "
        "Options override the --cluster profile's. With another executor they are an error.",
    )
    group.add_argument("--cluster", metavar="NAME", help="a profile of SLURM options in clusters.toml "
                       "(~/.config/nearbench/ or ./nearbench-clusters.toml); implies --executor slurm")
    for name, keywords in OPTIONS.items():
        group.add_argument(f"--{name}", dest=f"slurm_{name.replace('-', '_')}", **keywords)
    group.add_argument("--allow-dirty", action="store_true", help="submit although the nearbench sources differ "
                       "from their git commit (tasks still run a snapshot of the code as it is now)")
    group.add_argument("--wait", action="store_true", help="stay, with a progress bar, until every cell has a record")


def given(args) -> list[str]:
    """The SLURM-only options set on the command line, `--cluster` included."""
    named = [f"--{name}" for name in OPTIONS if getattr(args, f"slurm_{name.replace('-', '_')}") is not None]
    flags = [flag for flag in FLAGS if getattr(args, flag[2:].replace("-", "_"))]
    return (["--cluster"] if args.cluster else []) + named + flags


def request_from(args, *, plan_keys: list[str], results_root, device: str, stale: frozenset = frozenset()):
    """The SLURM request of a `bench run`: the command line's options over the --cluster
    profile's (or the `default` profile's), checked."""
    import shlex
    import sys

    from bench.executors.slurm import SlurmRequest
    from bench.executors.slurm.options import SlurmOptions
    from bench.executors.slurm.profiles import cluster_options

    command_line = SlurmOptions.build({name: getattr(args, f"slurm_{name.replace('-', '_')}") for name in OPTIONS}, where="")
    return SlurmRequest(
        options=command_line.over(cluster_options(args.cluster)),
        results_root=results_root,
        plan_keys=plan_keys,
        command="bench " + shlex.join(getattr(args, "argv", None) or sys.argv[1:]),
        device=device,
        allow_dirty=args.allow_dirty,
        rerun=args.rerun,
        stale=stale,
        wait=args.wait,
    )
