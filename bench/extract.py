"""Tar extraction that is safe by itself, on every supported Python.

Python's own `tarfile` filters arrived in 3.11.4 (3.10.12); before them `extractall` writes
wherever a member points. nearbench extracts member by member instead, and refuses the whole
archive — before its first byte lands — when any member:

- has an absolute path, or a `..` anywhere in its path (published archives have none);
- lies below a symbolic link of the archive (a write through a link lands where it points);
- is a symbolic link whose target, followed through the archive's other links (a chain),
  leaves the destination;
- is a hard link to anything but a regular file extracted before it, inside the destination;
- is a device node or a FIFO.

Members are extracted into a temporary folder beside the destination and moved into place
only once every member is out, so an interrupted or refused extraction leaves nothing
half-written. Modes keep their permission bits only (no set-user-ID).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path

from bench.errors import UserError

MAX_LINK_DEPTH = 40  # as the kernel's limit on symbolic links in one lookup


class UnsafeArchive(UserError):
    """An archive member would land outside the destination, or is a device."""


def _inside(path: str) -> bool:
    """Whether a normalised archive-relative path stays inside the destination."""
    return path not in ("..",) and not path.startswith("../") and not path.startswith("/")


def _resolve(path: str, links: dict[str, str]) -> str:
    """`path` with every archive symbolic link along it followed (lexically, within the
    archive); raises ValueError when a step leaves the destination or the chain is too long."""
    parts, resolved, depth = path.split("/"), "", 0
    while parts:
        part = parts.pop(0)
        candidate = posixpath.normpath(posixpath.join(resolved, part)) if resolved else posixpath.normpath(part)
        if not _inside(candidate):
            raise ValueError("leaves the destination")
        if candidate in links:
            depth += 1
            if depth > MAX_LINK_DEPTH:
                raise ValueError("a chain of links too long (a loop?)")
            target = links[candidate]
            if target.startswith("/"):
                raise ValueError("points to an absolute path")
            parts = target.split("/") + parts
            resolved = posixpath.dirname(candidate)
            continue
        resolved = candidate if candidate != "." else ""
    return resolved


def member_path(member: tarfile.TarInfo) -> str:
    """The member's path, normalised (`./a//b` → `a/b`; `..` kept, to be refused)."""
    return posixpath.normpath(member.name) if member.name else "."


def check_members(archive_name: str, members: list[tarfile.TarInfo]) -> None:
    """Raise UnsafeArchive for the first member that is not safe (see the module docstring)."""
    links: dict[str, str] = {}
    files: set[str] = set()
    for member in members:
        name = member_path(member)
        why = None
        if member.name.startswith("/") or not _inside(name) or ".." in member.name.split("/"):
            why = "would be written outside the destination"  # `..` is refused even when it stays inside
        elif member.ischr() or member.isblk() or member.isfifo():
            why = "is a device node or FIFO"
        else:
            parent = posixpath.dirname(name)
            try:
                if parent and _resolve(parent, links) != posixpath.normpath(parent):
                    why = "lies below a symbolic link of the archive"
            except ValueError as error:
                why = f"lies below a link that {error}"
        if why is None and member.issym():
            target = posixpath.join(posixpath.dirname(name), member.linkname)
            try:
                if member.linkname.startswith("/"):
                    raise ValueError("points to an absolute path")
                _resolve(posixpath.normpath(target), links)
            except ValueError as error:
                why = f"is a symbolic link that {error} (-> {member.linkname})"
            links[name] = member.linkname
        elif why is None and member.islnk():
            target = posixpath.normpath(member.linkname)
            if member.linkname.startswith("/") or not _inside(target) or target not in files:
                why = f"is a hard link to {member.linkname!r}, not to a file extracted before it"
        if why is not None:
            raise UnsafeArchive(
                f"{archive_name}: member {member.name!r} {why}; the archive is not the published one: delete it"
            )
        if member.isfile():
            files.add(name)


def strip_members(members: list[tarfile.TarInfo], strip: int) -> list[tarfile.TarInfo]:
    """The members with their first `strip` folders dropped (`tar --strip-components`), hard
    links' targets too; members that were those folders themselves are left out."""
    kept = []
    for member in members:
        parts = member.name.split("/")
        if len(parts) <= strip:
            continue
        member.name = "/".join(parts[strip:])
        if member.islnk():
            member.linkname = "/".join(member.linkname.split("/")[strip:])
        kept.append(member)
    return kept


def safe_extract(archive: Path, destination: Path, strip: int = 0) -> None:
    """Extract the tar archive `archive` into `destination` (made if missing), its members'
    first `strip` folders dropped: checked whole first, written to a temporary folder beside
    it, then moved in. Raises UnsafeArchive."""
    archive, destination = Path(archive), Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = strip_members(tar.getmembers(), strip) if strip else tar.getmembers()
        check_members(archive.name, members)
        staging = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", dir=destination))
        try:
            for member in members:
                _extract(tar, member, staging)
            _move_into(staging, destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    target = root / member_path(member)
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if member.issym():
        os.symlink(member.linkname, target)
    elif member.islnk():
        os.link(root / posixpath.normpath(member.linkname), target)
    elif member.isfile():
        with tar.extractfile(member) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
        os.chmod(target, member.mode & 0o777)


def _move_into(staging: Path, destination: Path) -> None:
    """Move the extracted tree into `destination`, merging into folders that exist."""
    for entry in staging.iterdir():
        target = destination / entry.name
        if entry.is_dir() and not entry.is_symlink() and target.is_dir() and not target.is_symlink():
            _move_into(entry, target)
        else:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
