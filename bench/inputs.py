"""What a sweep lacks before it can run — data, weights, files only the user has, files that
are there but unusable — gathered in one pass and reported together, each with the command
or the manual step that gets it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError


@dataclass(frozen=True)
class Lacking:
    """One thing a sweep lacks: `what` it is, `where` it belongs, `how` to get or fix it."""

    what: str
    where: Path | str | None
    how: str

    def line(self) -> str:
        where = f" ({self.where})" if self.where is not None else ""
        return f"{self.what}{where}: {self.how}"


class MissingInputs(UserError):
    """Everything a sweep lacks, in one error: one line for one item, else a list."""

    def __init__(self, items: list[Lacking]):
        super().__init__(items)
        self.items = list(items)

    def __str__(self) -> str:
        if len(self.items) == 1:
            return self.items[0].line()
        return f"{len(self.items)} inputs of this sweep are missing or unusable:\n" + "\n".join(
            f"  - {item.line()}" for item in self.items
        )


def with_root(text: str, root: Path) -> str:
    """A hint with the `<data root>` placeholder replaced by the data root itself."""
    return text.replace("<data root>", str(root))


def missing_data(name: str, benchmark, missing: list[Path], root: Path) -> Lacking:
    """The data a dataset lacks, with `bench data fetch` or its manual steps."""
    folder = benchmark.data_dir(root)
    files = ", ".join(str(p.relative_to(folder)) for p in missing[:4])
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    layout = benchmark.layout_hint(root)
    if layout:
        how = layout
    elif benchmark.archives:
        how = f"get it with `bench data fetch {name}`"
        if benchmark.fetch_hint:
            how += f" ({with_root(benchmark.fetch_hint, root)})"
    else:
        steps = with_root(benchmark.fetch_hint, root) if benchmark.fetch_hint else "place its files there by hand"
        how = f"no download exists: {steps} (`bench data fetch {name}` prints the steps and the layout)"
    return Lacking(f"dataset {name}: missing {files}{more}", folder, how)


def missing_file(requirement, users: list[str]) -> Lacking:
    """A file methods need (weights, a fake bank), with how to get it."""
    elsewhere = f", or pass --set {users[0]}.{requirement.param}=PATH" if requirement.param else ""
    found = (f"at {requirement.path} is not usable (expected {requirement.layout or 'another file'})"
             if requirement.path.exists() else f"not found at {requirement.path}")
    return Lacking(f"{requirement.what} for {', '.join(users)} {found}", None, f"{requirement.how_to_get}{elsewhere}")
