"""Timestamps as records and sweep files store them: UTC, ISO 8601, whole seconds."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """The current time, e.g. `2026-11-30T09:07:42+00:00`; such strings sort in time order."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
