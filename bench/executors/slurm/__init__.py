"""The `slurm` executor: sweeps as SLURM job arrays, through submitit.

- `executor`: `SlurmExecutor` (checks, submission, following) and `SlurmRequest`.
- `options`: the SLURM options of `bench run`, checked, and their sbatch parameters.
- `profiles`: named cluster profiles (`--cluster NAME`) from `clusters.toml` files.
- `scheduler`: the few SLURM commands nearbench calls (squeue, scontrol, sbatch --test-only, scancel).
- `packing`: cells → array tasks (`--cells-per-job` and its default).
- `task`: what runs in each array task: its cells one by one, requeued on timeout.
- `state`: a sweep's state file, and each cell's status from records plus the queue.
"""

from bench.executors.slurm.executor import SlurmExecutor, SlurmRequest, TaskEnded

__all__ = ["SlurmExecutor", "SlurmRequest", "TaskEnded"]
