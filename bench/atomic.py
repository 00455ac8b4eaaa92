"""Files that appear whole or not at all.

Content goes to a hidden temporary file beside the target, is flushed and fsynced, and is then
moved over the target with `os.replace`; the folder is fsynced too, so the rename survives a
crash. A reader, or a writer killed half-way, never sees half a file.

Permissions follow the user's umask (0644 under 022), as a plain `open()` would give them, not
the 0600 of `tempfile.mkstemp`: results folders are often shared by a group.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


def umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, suffix: str = ".tmp") -> Iterator[Any]:
    """A handle whose content replaces `path` (parents created) once the block ends cleanly.

    An exception inside the block deletes the temporary file and leaves `path` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(descriptor, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~umask())
        os.replace(temporary, path)
        fsync_folder(path.parent)
    except OSError as error:
        if error.errno and not error.filename:  # a failed write names no file: name the target
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """`data` as indented JSON at `path`, atomically. NaN and infinity are refused (ValueError):
    JSON has no such numbers."""
    with atomic_write(path, "w") as handle:
        json.dump(data, handle, indent=1, allow_nan=False)
        handle.write("\n")
    return Path(path)
