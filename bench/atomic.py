"""Files that appear whole or not at all: written to a temporary file beside the target,
then moved over it with `os.replace`, so a reader or a killed writer never sees half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "wb"):
    """A handle whose content replaces `path` (parents created) once the block ends cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, mode) as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
