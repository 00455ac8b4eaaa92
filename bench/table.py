"""Leaderboards rebuilt from records only.

`long_frame(records)` flattens records into long-format rows (one per cell and metric, plus
one per anomaly class for per-class AUROC), each carrying its full identity. `leaderboard`
aggregates: for each (method, dataset) the per-seed mean over normal classes, then mean ± std
over seeds; a `mean` column over datasets and a `rank` column (average rank over datasets,
1 = best). Rendering happens last, in `render`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np

from bench.metrics import LEGACY_METRIC_NAMES, METRICS, SCALAR_METRICS
from bench.records import OK

if TYPE_CHECKING:
    import pandas as pd

IDENTITY = ["method", "profile", "method_hash", "dataset", "dataset_hash", "normal_class", "class_name", "seed"]


def long_frame(records: Iterable[dict]) -> pd.DataFrame:
    """One row per (successful cell, metric); per-class AUROC rows carry `anomaly_class`."""
    import pandas as pd

    rows = []
    for record in records:
        if record.get("status") != OK:
            continue
        cell, metrics = record["cell"], record["metrics"]
        identity = {name: cell[name] for name in IDENTITY}
        per_class = metrics.get("auroc_per_class", {})
        named = {LEGACY_METRIC_NAMES.get(name, name): value for name, value in metrics.items()}
        scalars = {name: named[name] for name in SCALAR_METRICS if name in named}  # older records lack some
        if per_class:
            scalars["auroc_worst"] = min(per_class.values())
            scalars["auroc_classmean"] = float(np.mean(list(per_class.values())))
        scalars["headline"] = scalars[METRICS[record.get("headline", "auroc")][0]]
        for metric, value in scalars.items():
            rows.append({**identity, "metric": metric, "value": value, "anomaly_class": None})
        for anomaly_class, value in per_class.items():
            rows.append({**identity, "metric": "auroc_per_class", "value": value, "anomaly_class": anomaly_class})
    return pd.DataFrame(rows, columns=IDENTITY + ["metric", "value", "anomaly_class"])


def _labels(frame: pd.DataFrame, name: str, qualifiers: list[str]) -> pd.Series:
    """`name`, qualified only as far as needed where one name has several configurations:
    `dn2@paper`, `dn2@smoke#1a2b3c` (methods), `digits#4d5e6f` (datasets)."""
    import pandas as pd

    columns = [name, *qualifiers]
    labels = {}
    for _, group in frame[columns].drop_duplicates().groupby(name):
        for row in group.itertuples(index=False):
            label, same = row[0], group
            for position, qualifier in enumerate(qualifiers, start=1):
                if len(same) == 1:
                    break
                same = same[same[qualifier] == row[position]]
                label += f"#{row[position][:6]}" if qualifier.endswith("hash") else f"@{row[position]}"
            labels[tuple(row)] = label
    return pd.Series([labels[tuple(r)] for r in frame[columns].itertuples(index=False)], index=frame.index)


def _select(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    column, _ = METRICS[metric]
    selected = frame[frame.metric == column].copy()
    if len(selected):
        selected["row"] = _labels(selected, "method", ["profile", "method_hash"])
        selected["dataset"] = _labels(selected, "dataset", ["dataset_hash"])
    else:
        selected["row"] = []
    return selected


def per_seed(frame: pd.DataFrame, metric: str, by_class: bool = False) -> pd.DataFrame:
    """Per (row, dataset, seed) value: the mean over normal classes (or per class)."""
    selected = _select(frame, metric)
    keys = ["row", "dataset"] + (["normal_class", "class_name"] if by_class else []) + ["seed"]
    return selected.groupby(keys, as_index=False).agg(value=("value", "mean"), classes=("normal_class", "nunique"))


def summary(frame: pd.DataFrame, metric: str, by_class: bool = False) -> pd.DataFrame:
    """Tidy aggregate: one row per (row, dataset[, class]) with mean, std over seeds, counts."""
    seeds = per_seed(frame, metric, by_class)
    keys = ["row", "dataset"] + (["normal_class", "class_name"] if by_class else [])
    out = seeds.groupby(keys, as_index=False).agg(
        mean=("value", "mean"), std=("value", "std"), seeds=("seed", "nunique"), classes=("classes", "max")
    )
    out["std"] = out["std"].fillna(0.0)
    return out


def leaderboard(frame: pd.DataFrame, metric: str, by_class: bool = False) -> pd.DataFrame:
    """Wide numeric table: index = method rows; per column (dataset, or dataset:class) mean
    and std; plus `mean` over columns and `rank` (average rank over columns, 1 = best)."""
    import pandas as pd

    tidy = summary(frame, metric, by_class)
    if tidy.empty:
        return pd.DataFrame()
    tidy["column"] = tidy.dataset if not by_class else tidy.dataset + ":" + tidy.class_name.astype(str)
    columns = list(dict.fromkeys(tidy.column))
    means = tidy.pivot(index="row", columns="column", values="mean")[columns]
    stds = tidy.pivot(index="row", columns="column", values="std")[columns]
    higher_is_better = METRICS[metric][1]
    table = pd.DataFrame(index=means.index)
    for column in columns:
        table[(column, "mean")] = means[column]
        table[(column, "std")] = stds[column]
    table[("mean", "mean")] = means.mean(axis=1, skipna=False)
    # rounding first: means equal up to float noise tie, as they should
    ranks = means.round(12).rank(ascending=not higher_is_better, method="average")
    table[("rank", "mean")] = ranks.mean(axis=1)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table.sort_values(("rank", "mean"), kind="stable")


def _cell_text(mean: float, std: float, percent: bool) -> str:
    import pandas as pd

    if pd.isna(mean):
        return "—"
    scale = 100.0 if percent else 1.0
    return f"{mean * scale:.1f} ± {std * scale:.1f}"


def render(frame: pd.DataFrame, metric: str, fmt: str, by_class: bool = False) -> str:
    """The leaderboard as markdown, LaTeX, HTML (values in %, mean ± std over seeds), or CSV
    (tidy numbers, one row per method and dataset)."""
    import pandas as pd

    if fmt == "csv":
        return summary(frame, metric, by_class).rename(columns={"row": "method"}).to_csv(index=False)
    table = leaderboard(frame, metric, by_class)
    if table.empty:
        return ""
    columns = [c for c in dict.fromkeys(table.columns.get_level_values(0)) if c not in ("mean", "rank")]
    shown = pd.DataFrame(index=table.index)
    for column in columns:
        shown[column] = [_cell_text(m, s, True) for m, s in zip(table[(column, "mean")], table[(column, "std")])]
    shown["mean"] = [("—" if pd.isna(v) else f"{100 * v:.1f}") for v in table[("mean", "mean")]]
    shown["rank"] = [f"{v:.2f}" for v in table[("rank", "mean")]]
    shown.index.name = "method"
    if fmt == "html":
        return shown.to_html()
    from tabulate import tabulate

    tablefmt = {"markdown": "github", "latex": "latex_booktabs"}[fmt]
    return tabulate(shown, headers="keys", tablefmt=tablefmt, stralign="right", disable_numparse=True)
