"""Downloads that verify before they keep anything.

A file is streamed to a hidden temporary file beside its destination with a progress bar,
its checksum computed on the way; only a match is moved into place (`bench.atomic`). A
mismatch deletes the temporary file and raises one clear error.
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

from bench.atomic import atomic_write
from bench.digest import CHUNK, file_digest
from bench.errors import UserError


def _mismatch(name: str, algorithm: str, actual: str, expected: str) -> UserError:
    return UserError(
        f"{name}: {algorithm} is {actual[:len(expected)]}…, expected {expected}: "
        f"the file is corrupt or not the right one; delete it and download it again"
    )


def check_digest(path: Path, algorithm: str, expected: str, name: str | None = None) -> None:
    """Raise UserError unless `path`'s digest starts with `expected` (a full or prefix hex)."""
    actual = file_digest(path, algorithm)
    if not actual.startswith(expected.lower()):
        raise _mismatch(name or Path(path).name, algorithm, actual, expected)


def download(url: str, destination: Path, *, algorithm: str, expected: str, progress: bool = True) -> Path:
    """Fetch `url` to `destination` unless a verified copy is there already."""
    from tqdm.auto import tqdm

    destination = Path(destination)
    if destination.exists():
        check_digest(destination, algorithm, expected)
        return destination
    hasher = hashlib.new(algorithm)
    try:
        with atomic_write(destination, suffix=".part") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, disable=not progress) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    hasher.update(chunk)
                    bar.update(len(chunk))
            if not hasher.hexdigest().startswith(expected.lower()):
                raise _mismatch(f"{destination.name} from {url}", algorithm, hasher.hexdigest(), expected)
    except OSError as error:
        raise UserError(f"could not download {url}: {error}") from None
    return destination
