"""Content digests: one way to name a value or a file by what it holds.

`digest(value)` is the SHA-256 of a value's canonical JSON (sorted keys, no spaces; values
JSON cannot hold are written with `str`), as hex, optionally truncated. Cell keys, cache keys,
bank names and sweep ids all come from it, so equal content always gets the same name.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


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
