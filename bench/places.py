"""The folders a sweep writes to, checked before its first cell; and the storage failure that
stops a sweep when one of them fills up (or turns read-only) half-way.

`check_folder` finds an unusable place — a file where a folder should be, a folder that
cannot be made, or one this process cannot write to (read-only filesystem, permissions) —
before anything runs, and writes nothing: the write probe is an unnamed temporary file
(`tempfile.TemporaryFile`, O_TMPFILE on Linux), gone when closed.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from bench.errors import UserError

# Errors of the place, not of the cell: every later cell would meet them too.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


class StorageFull(Exception):
    """A write failed because its filesystem is full or read-only: the sweep must stop."""


def storage_failure(error: BaseException) -> str | None:
    """One line describing `error` when it is a storage failure (full, over quota, read-only),
    else None."""
    if isinstance(error, StorageFull):
        return str(error)
    if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
        where = f" writing {error.filename}" if error.filename else ""
        return f"{os.strerror(error.errno).lower()}{where}"
    return None


def check_output_file(path: Path, what: str) -> None:
    """Raise UserError unless `path` can be written as a file: its folder exists (it is never
    made: a typo in a path should not leave folders behind) and `path` is not a folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise UserError(f"{what} {path}: the folder {path.parent} does not exist; make it, or give a path in an "
                        "existing folder")
    check_folder(path.parent, what, f"give {what} a path in a folder you can write to")


def check_folder(path: Path, what: str, fix: str, *, writable: bool = True) -> None:
    """Raise UserError unless `path` is a folder — or can be made as one — that this process
    can write to (`writable`); `what` names it (`--results`), `fix` says what else to do."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file, not a folder: {fix}")
    existing = path
    while not existing.exists():  # the nearest existing ancestor is where the folder would be made
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {path} cannot be made: {existing} is a file; {fix}")
    if not writable:
        return
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        why = os.strerror(error.errno).lower() if error.errno else str(error)
        made = "" if existing == path else f" (it would be made in {existing})"
        raise UserError(f"{what} {path} is not writable{made}: {why}; {fix}") from None
