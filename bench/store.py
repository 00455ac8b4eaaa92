"""One JSON record per cell under a results root, written atomically.

Layout: `<root>/<dataset>/<method>/<profile>-<config hash>/c<class>-s<seed>.json` — the cell's
key plus `.json`. Records are written with `bench.atomic.write_json`, so a reader (or a process
killed mid-write) never leaves or sees half a record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from bench.atomic import write_json
from bench.cell import Cell
from bench.records import OK


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def write(self, record: dict) -> Path:
        """Write `record` as its cell's record, except that a failure never replaces a
        successful record (a rerun that fails, a worker that dies after writing its own)."""
        key = record["cell"]["key"]
        if record.get("status") != OK and self.is_ok(key):
            return self.path(key)
        return write_json(self.path(key), record)

    def read(self, key: str) -> dict | None:
        try:
            return json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def is_ok(self, key: str) -> bool:
        record = self.read(key)
        return isinstance(record, dict) and record.get("status") == OK

    def is_done(self, cell: Cell) -> bool:
        """A cell is done when a successful record exists; failed cells run again."""
        return self.is_ok(cell.key)

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
