"""Cell claims across processes: two `bench run`s over the same results root never run one
cell twice.

Before running a cell, a worker — inline, in a pool, in a SLURM task — takes the cell's claim,
an exclusive lock on `<results>/.claims/<cell key>.lock` (filelock: `flock` where the
filesystem has it, NFS included). A claim held elsewhere means the cell is running in
another process: it is left to it. A claim taken after the other process finished finds
the cell's successful record and runs nothing. A claim whose holder died is free again at
once: the kernel drops a dead process's locks, so no stale claim needs clearing by hand.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

CLAIMS = ".claims"


@contextlib.contextmanager
def claimed(results_root: Path, key: str) -> Iterator[bool]:
    """Try to claim cell `key` without waiting; yields whether this process holds it (and
    keeps it until the block ends)."""
    from filelock import FileLock, Timeout

    path = Path(results_root) / CLAIMS / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, blocking=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
