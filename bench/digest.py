"""Content digests: one way to name a value or a file by what it holds.

`digest(value)` is the SHA-256 of a value's canonical JSON (sorted keys, no spaces; values
JSON cannot hold are written with `str`), as hex, optionally truncated. Cell keys, cache keys,
bank names and sweep ids all come from it, so equal content always gets the same name.

`content_digest(path)` is the SHA-256 of a file's bytes, read once per process while the file
stays unchanged: the image-set keys of file-backed datasets are made of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
# A file changed within this many seconds of being hashed could change again inside one
# tick of its filesystem's clock without its times moving: its digest is not remembered.
RACY_S = 2.0
_remembered: dict[str, tuple[tuple[int, ...], str]] = {}


def canonical_json(value: Any) -> str:
    """`value` as JSON with sorted keys and no spaces: equal values give equal text.

    >>> canonical_json({"k": 2, "backbone": "resnet18"})
    '{"backbone":"resnet18","k":2}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value: Any, length: int | None = None) -> str:
    """Hex SHA-256 of `value`'s canonical JSON (of the bytes themselves for `bytes`), cut to
    `length` digits when given.

    >>> digest({"a": 1, "b": 2}, 10) == digest({"b": 2, "a": 1}, 10)
    True
    >>> len(digest(b"bytes"))
    64
    """
    data = value if isinstance(value, bytes) else canonical_json(value).encode()
    return hashlib.sha256(data).hexdigest()[:length]


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks (`algorithm`: md5, sha256, ...)."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _signature(stat: os.stat_result) -> tuple[int, ...]:
    """What changes whenever a file's bytes do: its device and inode (a file replaced by
    another), size, modification and change times (ctime cannot be set back by a user)."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def content_digest(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the bytes of the file at `path` (symbolic links followed).

    The bytes are read and hashed the first time; the digest is remembered for this process
    with the file's device, inode, size, mtime and ctime, and read again whenever any of them
    differs. Files changed less than `RACY_S` seconds before hashing are not remembered (the
    "racy git" case: a second change inside one clock tick would leave the times as they
    were). Raises OSError when the file cannot be read.
    """
    name = os.fspath(path)
    before = _signature(os.stat(name))
    remembered = _remembered.get(name)
    if remembered is not None and remembered[0] == before:
        return remembered[1]
    value = file_digest(name)
    after = os.stat(name)
    newest_s = max(after.st_mtime_ns, after.st_ctime_ns) / 1e9
    if _signature(after) == before and time.time() - newest_s > RACY_S:
        _remembered[name] = (before, value)
    else:
        _remembered.pop(name, None)
    return value
