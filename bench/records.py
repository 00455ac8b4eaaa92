"""Records: what a cell leaves behind, as JSON-ready dicts.

A successful record has `"status": "ok"` and `metrics`; a failed one `"status": "failed"`
and an `error` with its type, message and traceback.
"""

from __future__ import annotations

import traceback

from bench.cell import Cell
from bench.provenance import provenance
from bench.timestamps import utc_now

SCHEMA = 1
OK = "ok"
FAILED = "failed"


def error_entry(error: BaseException) -> dict:
    """The `error` field of a failed record."""
    return {
        "type": type(error).__name__,
        "message": str(error) or repr(error),
        "traceback": "".join(traceback.format_exception(error)),
    }


def failed_record(cell: Cell, error: BaseException, device: str) -> dict:
    """The record of a cell whose worker never returned one (it died, or was cancelled)."""
    return {
        "schema": SCHEMA,
        "cell": cell.to_dict(),
        "status": FAILED,
        "error": error_entry(error),
        "timings": {},
        "finished_at": utc_now(),
        "provenance": provenance(device),
    }
