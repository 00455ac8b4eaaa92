"""Files a method or dataset needs before any cell may run, checked at plan time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Requirement:
    """A file that must exist before a cell runs.

    `what` describes it ("pretrained weights resnet152 (IMAGENET1K_V1)"), `how_to_get` says how
    to get it, `param` names the parameter that can point at another copy, and `fetch`
    downloads it (for `bench prepare`; None when only the user can provide it). `check`,
    when given, is run on a present file at plan time and raises (UserError or ValueError,
    one line) when the file cannot be used — read from headers, never from the whole file.
    `layout` describes what must be there when more than existing is checked, `usable(path)`
    (a folder of images, say): a path that exists but is not usable counts as missing.
    """

    what: str
    path: Path
    how_to_get: str
    param: str | None = None
    fetch: Callable[[], object] | None = None
    check: Callable[[Path], object] | None = None
    layout: str = ""
    usable: Callable[[Path], bool] | None = None

    @property
    def present(self) -> bool:
        return self.path.exists() and (self.usable is None or self.usable(self.path))

    def problem(self) -> str | None:
        """Why the present file cannot be used (None: it can, or there is no check)."""
        if self.check is None or not self.present:
            return None
        try:
            self.check(self.path)
        except Exception as error:  # UserError or ValueError from the check: its message says it
            return str(error)
        return None
