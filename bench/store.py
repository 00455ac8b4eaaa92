"""One JSON record per cell under a results root, written atomically.

Layout: `<root>/<dataset>/<method>/<profile>-<config hash>/c<class>-s<seed>.json` — the cell's
key plus `.json`. Records are written with `bench.atomic.write_json`, so a reader (or a process
killed mid-write) never leaves or sees half a record, and they are readable as the umask
says. Reading never drops a file without a word: `scan` returns the records and, for every
other `*.json` file, why it is not one (unreadable, not UTF-8, truncated or invalid JSON, not
a nearbench record); `sweeps/` (SLURM bookkeeping) and hidden temporary files are skipped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bench.atomic import write_json
from bench.cell import Cell
from bench.records import FAILED, OK

SKIPPED_FOLDERS = ("sweeps",)  # under the root: SLURM sweep files and code snapshots, not records
CELL_FIELDS = ("method", "dataset", "normal_class", "seed", "profile", "key", "method_hash", "dataset_hash")
CELL_TYPES = {"normal_class": int, "seed": int}  # the other fields are text
METRIC_FIELDS = ("auroc", "aupr")  # FPR@95TPR has had two names (`bench.metrics.LEGACY_METRIC_NAMES`)


class NotARecord(ValueError):
    """A JSON file under a results root that is not a usable record; the message says why."""


def parse_record(data: bytes) -> dict:
    """The record in `data` (a file's bytes); NotARecord saying why it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotARecord(f"not UTF-8 text (byte {error.start})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
            raise NotARecord("truncated JSON (the file ends mid-record)") from None
        raise NotARecord(f"invalid JSON at line {error.lineno}, column {error.colno}") from None
    if not isinstance(record, dict) or not isinstance(record.get("cell"), dict) or "status" not in record:
        raise NotARecord("not a nearbench record (no cell and status)")
    lacking = [name for name in CELL_FIELDS if name not in record["cell"]]
    if lacking:
        raise NotARecord(f"its cell lacks {', '.join(lacking)}")
    mistyped = [name for name in CELL_FIELDS if not isinstance(record["cell"][name], CELL_TYPES.get(name, str))
                or isinstance(record["cell"][name], bool)]
    if mistyped:
        raise NotARecord(f"its cell's {', '.join(mistyped)} {'is' if len(mistyped) == 1 else 'are'} of the wrong type")
    if record["status"] not in (OK, FAILED):
        raise NotARecord(f"unknown status {record['status']!r}")
    if record["status"] == OK and record.get("kind", "cell") == "cell":  # a split job's record has none
        metrics = record.get("metrics")
        if not isinstance(metrics, dict) or not all(isinstance(metrics.get(m), (int, float)) for m in METRIC_FIELDS):
            raise NotARecord(f"a successful record without metrics ({', '.join(METRIC_FIELDS)})")
        outside = [name for name, value in metrics.items()
                   if isinstance(value, (int, float)) and not (isinstance(value, bool) or 0 <= value <= 1)]
        if outside:  # NaN fails the comparison too
            raise NotARecord(f"metric {outside[0]}={metrics[outside[0]]!r} is not a fraction in [0, 1]")
    return record


def _preference(record: dict) -> tuple:
    """Of two records of one cell, the one counted: a successful one, then the newer."""
    return record.get("status") == OK, str(record.get("finished_at", ""))


@dataclass(frozen=True)
class Unusable:
    """A `*.json` file under the results root that is not a usable record, and why."""

    path: Path
    why: str


@dataclass
class Scan:
    """What a results root holds: its records, and the JSON files that are not records."""

    root: Path
    records: list[dict] = field(default_factory=list)
    unusable: list[Unusable] = field(default_factory=list)

    def warning(self, shown: int = 3) -> str | None:
        """One line naming the unusable files (count and the first `shown`), or None."""
        if not self.unusable:
            return None
        first = "; ".join(f"{u.path} ({u.why})" for u in self.unusable[:shown])
        more = f"; and {len(self.unusable) - shown} more" if len(self.unusable) > shown else ""
        return (f"warning: {len(self.unusable)} file(s) under {self.root} are not readable records and were left "
                f"out: {first}{more}. Fix or delete them (`bench run` makes a cell's record again)")


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
        """The record of cell `key`; None when there is none or it is not usable (a scan says
        why)."""
        try:
            return parse_record(self.path(key).read_bytes())
        except (OSError, NotARecord):
            return None

    def is_ok(self, key: str) -> bool:
        record = self.read(key)
        return isinstance(record, dict) and record.get("status") == OK

    def is_done(self, cell: Cell) -> bool:
        """A cell is done when a successful record exists; failed cells run again."""
        return self.is_ok(cell.key)

    def _json_files(self, folder: Path) -> Iterator[Path]:
        for path in sorted(folder.rglob("*.json")):
            relative = path.relative_to(self.root).parts
            if path.name.startswith(".") or (relative and relative[0] in SKIPPED_FOLDERS):
                continue
            yield path

    def scan(self, under: str = "") -> Scan:
        """Every record under the root (or under its folder `under`, e.g. `digits/dn2`), and
        every other `*.json` file there with why it is not one."""
        scan = Scan(self.root)
        folder = self.root / under
        if not folder.is_dir():
            return scan
        kept: dict[str, tuple[Path, dict]] = {}  # cell key → the file counted and its record
        for path in self._json_files(folder):
            try:
                record = parse_record(path.read_bytes())
                key = record["cell"]["key"]
                if not path.as_posix().endswith(f"/{key}.json"):  # a copy under another name, or a moved file
                    raise NotARecord(f"its cell's record belongs at <results root>/{key}.json; a copy or a moved "
                                     "file is not counted")
                if key in kept:  # the same cell in two results roots below this one: counted once
                    earlier_path, earlier = kept[key]
                    if _preference(record) > _preference(earlier):
                        kept[key] = (path, record)
                        path = earlier_path  # the one left out
                    raise NotARecord(f"another record of the same cell is counted ({kept[key][0]})")
                kept[key] = (path, record)
            except PermissionError:
                scan.unusable.append(Unusable(path, "permission denied: its owner can `chmod a+r` it"))
            except OSError as error:
                scan.unusable.append(Unusable(path, f"unreadable: {error.strerror or error}"))
            except NotARecord as error:
                scan.unusable.append(Unusable(path, str(error)))
        scan.records = [record for _, record in kept.values()]
        return scan

    def records(self, under: str = "") -> Iterator[dict]:
        """The records of `scan(under)` (callers that report unusable files call `scan`)."""
        yield from self.scan(under).records
