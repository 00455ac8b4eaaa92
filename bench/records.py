"""Records: what a cell leaves behind, as JSON-ready dicts.

A successful record has `"status": "ok"` and `metrics`, `data` (the split's fingerprint and
the content keys of its image sets) and `code` (`bench.code_identity.code_identity`); a failed
one `"status": "failed"` and an `error` with its type, message and traceback. Schema 2 added
`data` and `code`.
"""

from __future__ import annotations

import traceback

from bench.cell import Cell
from bench.provenance import provenance
from bench.timestamps import utc_now

SCHEMA = 2
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
