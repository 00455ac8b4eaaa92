"""Published numbers to compare records against, keyed by registry names.

`published.csv` ships with nearbench: one row per (method, dataset, metric) with the
`protocol` it was measured under, in words, the `value` in percent, its `source` and whether
it was `verified` in the paper or the authors' repository (`yes`) or comes only from an
aggregator and still needs checking (`no`). Methods and datasets are registry names, metrics
`bench table --metric` names. `bench table --reference paper` reads it; `--reference FILE`
reads a CSV of your own in the same columns.

Left out on purpose: CSI's 89.3 on CIFAR-10 vs CIFAR-100 (alinlab/CSI README) is its
unlabeled multi-class setting — all of CIFAR-10 normal — not the one-class protocol of the
registry's `cifar10-vs-cifar100`, so it is no reference for any cell nearbench runs. Numbers
on benchmarks nearbench does not register (Cats-vs-Dogs, ImageNet-30, DIOR: PANDA, PANDA-OE,
CSI, Transformaly) are left out, and so is PaDiM's 89.1 on MVTec with ResNet-18 (anomalib's
README): one row per (method, dataset, metric) is the paper's configuration, wide ResNet-50-2.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError
from bench.metrics import METRICS

COLUMNS = ("method", "dataset", "metric", "protocol", "value", "source", "verified")
PACKAGED = {"paper": "published.csv"}  # reference name → file shipped in the bench package


@dataclass(frozen=True)
class Published:
    """One published number: `value` in percent of `metric` for `method` on `dataset`."""

    method: str
    dataset: str
    metric: str
    protocol: str
    value: float
    source: str
    verified: bool


def parse(text: str, where: str) -> list[Published]:
    """The rows of a reference CSV; UserError naming the file and line of a bad one."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"{where}: a reference table needs the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}")
    rows = []
    for number, row in enumerate(reader, start=2):
        try:
            value = float(row["value"])
        except (TypeError, ValueError):
            raise UserError(f"{where}:{number}: value {row['value']!r} is not a number (a percentage)") from None
        if row["metric"] not in METRICS or row["metric"] == "headline":
            raise UserError(f"{where}:{number}: metric {row['metric']!r}: use one of "
                            f"{', '.join(m for m in METRICS if m != 'headline')}")
        if row["verified"] not in ("yes", "no"):
            raise UserError(f"{where}:{number}: verified must be yes or no, got {row['verified']!r}")
        if not 0 <= value <= 100:
            raise UserError(f"{where}:{number}: value {value} is not a percentage")
        if value <= 1 and METRICS.get(row["metric"], ("", False))[1]:  # AUROC 0.95 % is a fraction given as is
            raise UserError(f"{where}:{number}: value {value} looks like a fraction; values are percentages "
                            f"({100 * value:g}, not {value})")
        rows.append(Published(row["method"], row["dataset"], row["metric"], row["protocol"], value, row["source"],
                              row["verified"] == "yes"))
    return rows


def load(name: str = "paper") -> list[Published]:
    """The reference table `name` (`paper`: the packaged published numbers), or the CSV file
    at that path; UserError when it is neither."""
    if name in PACKAGED:
        text = importlib.resources.files("bench").joinpath(PACKAGED[name]).read_text(encoding="utf-8")
        return parse(text, f"bench/{PACKAGED[name]}")
    path = Path(name).expanduser()
    if not path.is_file():
        raise UserError(f"--reference {name!r}: give {' or '.join(PACKAGED)} (the packaged published numbers) "
                        "or a CSV file with the columns " + ", ".join(COLUMNS))
    try:
        return parse(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the reference table as UTF-8 CSV") from None
