"""Records: what a cell leaves behind, as JSON-ready dicts.

A successful record has `"status": "ok"` and `metrics`, `data` (the split's fingerprint and
the content keys of its image sets) and `code` (`bench.code_identity.code_identity`); a failed
one `"status": "failed"` and an `error` with its type, message and traceback. Schema 2 added
`data` and `code`.
"""

from __future__ import annotations

import sys
import traceback
import types

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


class _CallableModule(types.ModuleType):
    """This module, callable: `bench.records("results")` is `bench.api.records("results")`.

    The API names its record reader after this module, and `import bench.records` makes the
    module an attribute of `bench`; a module class with `__call__` (the documented way to
    customise a module, `types.ModuleType` subclass as `__class__`) lets both stand."""

    def __call__(self, *args, **kwargs):
        from bench.api import records

        return records(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
