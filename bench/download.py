"""Downloads that verify before they keep anything.

A file is streamed to a hidden temporary file beside its destination with a progress bar,
its checksum is compared with the expected one, and only then is it moved into place. A
mismatch deletes the temporary file and raises one clear error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from bench.errors import UserError

CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_digest(path: Path, algorithm: str, expected: str, name: str | None = None) -> None:
    """Raise UserError unless `path`'s digest starts with `expected` (a full or prefix hex)."""
    actual = file_digest(path, algorithm)
    if not actual.startswith(expected.lower()):
        raise UserError(
            f"{name or path.name}: {algorithm} is {actual[:len(expected)]}…, expected {expected}: "
            f"the file is corrupt or not the right one; delete it and download it again"
        )


def download(url: str, destination: Path, *, algorithm: str, expected: str, progress: bool = True) -> Path:
    """Fetch `url` to `destination` unless a verified copy is there already."""
    from tqdm.auto import tqdm

    destination = Path(destination)
    if destination.exists():
        check_digest(destination, algorithm, expected)
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    try:
        with os.fdopen(descriptor, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, disable=not progress) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        check_digest(Path(temporary), algorithm, expected, name=f"{destination.name} from {url}")
        os.replace(temporary, destination)
    except OSError as error:
        raise UserError(f"could not download {url}: {error}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)
    return destination
