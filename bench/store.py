"""One JSON record per cell under a results root, written atomically.

Layout: `<root>/<dataset>/<method>/<profile>-<config hash>/c<class>-s<seed>.json` — the cell's
key plus `.json`. A record is first written to a hidden temporary file beside its final path,
flushed to disk, then moved into place with `os.replace`, so a reader (or a process killed
mid-write) never leaves or sees half a record.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from bench.cell import Cell

OK = "ok"
FAILED = "failed"


def write_json(path: Path, data: dict) -> Path:
    """Write `data` as JSON to `path` atomically: a hidden temporary file beside it, flushed to
    disk, then moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle, indent=1, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def write(self, record: dict) -> Path:
        return write_json(self.path(record["cell"]["key"]), record)

    def read(self, key: str) -> dict | None:
        try:
            return json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_done(self, cell: Cell) -> bool:
        """A cell is done when a successful record exists; failed cells run again."""
        record = self.read(cell.key)
        return record is not None and record.get("status") == OK

    def records(self, under: str = "") -> Iterator[dict]:
        """Every record under the root, or under its folder `under` (e.g. `digits/dn2`);
        hidden temporary files are not records."""
        folder = self.root / under
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                record = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(record, dict) and "cell" in record and "status" in record:
                yield record
