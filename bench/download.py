"""Downloads that verify before they keep anything, resume where they stopped, retry, and
fall back to mirrors.

A file is streamed to a hidden partial file beside its destination with a progress bar. An
interrupted transfer keeps the partial file; the next attempt (a retry, or the next `bench
data fetch`) asks the server for the rest only (an HTTP range request) and starts over only
when the server cannot send a range. The whole file's checksum decides: a match is moved
into place, a mismatch is deleted and the next URL — a mirror — is tried. One error names
every URL tried and why each failed.

(pooch, the usual library for verified downloads, neither resumes a partial file nor tries
mirrors in order; urllib does all this in a few lines.)
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

from bench.digest import CHUNK, file_digest
from bench.errors import UserError

RETRIES = 3  # attempts per URL; each resumes what the previous one got
BACKOFF_S = 1.0  # wait before the n-th retry: n × this


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


def partial_path(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.part")


def _transfer(url: str, partial: Path, progress: bool) -> None:
    """Append what `partial` lacks of `url` (from scratch when the server ignores ranges)."""
    from tqdm.auto import tqdm

    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to send: the partial file is whole
            return
        raise
    with response:
        resumed = have and response.status == 206
        length = int(response.headers.get("Content-Length") or 0)
        total = (have + length if resumed else length) or None
        with open(partial, "ab" if resumed else "wb") as out, tqdm(
            total=total, initial=have if resumed else 0, unit="B", unit_scale=True, desc=partial.name[1:-5],
            disable=not progress,
        ) as bar:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if total is not None and partial.stat().st_size < total:
            raise http.client.IncompleteRead(b"", total - partial.stat().st_size)


def _fetch(url: str, partial: Path, progress: bool, retries: int) -> str | None:
    """Transfer `url` into `partial`, resuming, up to `retries` times; None on success, else
    why it failed."""
    for attempt in range(1, retries + 1):
        try:
            _transfer(url, partial, progress)
            return None
        except (OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSErrors
            why = str(getattr(error, "reason", None) or error) or type(error).__name__
            gone = isinstance(error, urllib.error.HTTPError) and error.code in (403, 404, 410)
            if gone or attempt == retries:  # a missing file does not come back by retrying
                return why
            time.sleep(BACKOFF_S * attempt)
    return "no attempt"


def download(urls: str | Sequence[str], destination: Path, *, algorithm: str, expected: str | None,
             progress: bool = True, retries: int = RETRIES) -> Path:
    """Fetch `destination` from the first of `urls` (the main URL, then mirrors) that gives a
    file with the expected digest, unless a verified copy is there already. `expected` None
    (no published digest) leaves the check to the caller. Raises UserError naming each URL
    tried and what went wrong."""
    destination = Path(destination)
    if destination.exists():
        if expected:
            check_digest(destination, algorithm, expected)
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(destination)
    failures = []
    for url in [urls] if isinstance(urls, str) else urls:
        why = _fetch(url, partial, progress, retries)
        if why is not None:
            failures.append(f"{url}: {why}")
            continue
        actual = file_digest(partial, algorithm)
        if not expected or actual.startswith(expected.lower()):
            os.replace(partial, destination)
            return destination
        partial.unlink()  # the wrong file (another version on a mirror): never resumed from
        failures.append(f"{url}: {algorithm} is {actual[:12]}…, expected {expected[:12]}… (corrupt or not the right one)")
    kept = "; the partial file is kept: the next try resumes it" if partial.exists() else ""
    raise UserError(f"could not download {destination.name}: {'; '.join(failures)}{kept}")
