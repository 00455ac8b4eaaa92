"""One-line notices on stderr from wherever work runs (this process, a pool worker, a SLURM
task's log): what nearbench repaired or decided on the user's behalf."""

from __future__ import annotations

import sys


def notice(message: str) -> None:
    """Print `bench: notice: MESSAGE` as one line on stderr."""
    print(f"bench: notice: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def discarded(path, why: str) -> None:
    """The notice for a damaged cache entry that is deleted and made again."""
    notice(f"discarded the damaged cache entry {path} ({why}); it is being made again")
