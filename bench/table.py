"""Leaderboards rebuilt from records only, each number saying what it covers.

`long_frame(records)` flattens records into long rows (one per cell and metric, plus one per
anomaly class for per-class AUROC), each carrying its full identity and its cell key.
`summary` aggregates each **entry** — a method configuration on a dataset (or on one of its
normal classes): the mean over normal classes per seed, then the mean and std over seeds —
and says what it covers: the (class, seed) pairs it has against its column's grid (every
normal class and every seed that some entry of the column has). `leaderboard` pivots the
entries into rows and columns, with a `mean` column and a `rank` column that averages ranks
only over the columns every row has. `render` writes it: an entry that covers fewer pairs than
its column is marked †, one made from stale records ‡ (notes under the table say what each
lacks or why it is stale); one seed shows no "±"; the metric and its unit head the table.
Markdown goes through tabulate, LaTeX and HTML through pandas' Styler (`bench.formats`); CSV
is `summary` in percent. With a reference table (`bench.reference`) the table becomes one row
per (method, dataset) with the published value and Δ beside each entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Union

import numpy as np

from bench.metrics import LABELS, LEGACY_METRIC_NAMES, METRICS, SCALAR_METRICS, UNIT
from bench.records import OK

if TYPE_CHECKING:
    import pandas as pd

IDENTITY = ["method", "profile", "method_hash", "dataset", "dataset_hash", "normal_class", "class_name", "seed"]
INCOMPLETE, STALE = "†", "‡"
Stale = Union[Mapping[str, list], Iterable[str]]  # stale record keys, or key → why
NOTES_SHOWN = 12  # notes of each kind under a table; the CSV has every entry's coverage


def long_frame(records: Iterable[dict]) -> pd.DataFrame:
    """One row per (successful cell, metric); per-class AUROC rows carry `anomaly_class`; the
    `headline` rows name the metric they stand for in `via`."""
    import pandas as pd

    rows = []
    for record in records:
        if record.get("status") != OK:
            continue
        cell, metrics = record["cell"], record["metrics"]
        identity = {name: cell.get(name, "") for name in IDENTITY}
        identity["class_name"] = str(identity["class_name"] or identity["normal_class"])
        identity["key"] = cell.get("key", "")
        per_class = metrics.get("auroc_per_class", {})
        named = {LEGACY_METRIC_NAMES.get(name, name): value for name, value in metrics.items()}
        scalars = {name: named[name] for name in SCALAR_METRICS if name in named}  # older records lack some
        if per_class:
            scalars["auroc_worst"] = min(per_class.values())
            scalars["auroc_classmean"] = float(np.mean(list(per_class.values())))
        headline = METRICS[record.get("headline", "auroc")][0]
        scalars["headline"] = scalars[headline]
        interval = metrics.get("auroc_ci") or {}
        for metric, value in scalars.items():
            via = headline if metric == "headline" else metric
            bounds = (interval.get("low"), interval.get("high")) if via == "auroc" else (None, None)
            rows.append({**identity, "metric": metric, "value": value, "anomaly_class": None, "via": via,
                         "ci_low": bounds[0], "ci_high": bounds[1]})
        for anomaly_class, value in per_class.items():
            rows.append({**identity, "metric": "auroc_per_class", "value": value, "anomaly_class": anomaly_class,
                         "via": "auroc_per_class", "ci_low": None, "ci_high": None})
    return pd.DataFrame(rows, columns=IDENTITY + ["key", "metric", "value", "anomaly_class", "via", "ci_low", "ci_high"])


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
    """The rows of `metric`, with `method` and `dataset` replaced by their table labels."""
    column, _ = METRICS[metric]
    selected = frame[frame.metric == column].copy()
    if len(selected):
        selected["method"] = _labels(selected, "method", ["profile", "method_hash"])
        selected["dataset"] = _labels(selected, "dataset", ["dataset_hash"])
    return selected


def _listing(values, prefix: str, limit: int = 6) -> str:
    values = sorted(values, key=lambda v: (str(type(v)), v))
    shown = ", ".join(str(v) for v in values[:limit]) + (f" and {len(values) - limit} more" if len(values) > limit else "")
    return f"{prefix} {shown}"


def _missing(have: set, classes: dict, seeds: set) -> str:
    """What an entry with (class, seed) pairs `have` lacks of the grid `classes` × `seeds`:
    whole classes, whole seeds, then single pairs; "" when nothing."""
    lacking = {(c, s) for c in classes for s in seeds} - have
    whole_classes = {c for c in classes if all((c, s) in lacking for s in seeds)}
    whole_seeds = {s for s in seeds if all((c, s) in lacking for c in classes)}
    pairs = sorted((c, s) for c, s in lacking if c not in whole_classes and s not in whole_seeds)
    parts = []
    if whole_classes:
        parts.append(_listing([classes[c] for c in whole_classes], "classes" if len(whole_classes) > 1 else "class"))
    if whole_seeds:
        parts.append(_listing(whole_seeds, "seeds" if len(whole_seeds) > 1 else "seed"))
    if pairs:
        parts.append(_listing([f"{classes[c]}/s{s}" for c, s in pairs], "class/seed"))
    return "; ".join(parts)


SUMMARY_COLUMNS = ["method", "dataset", "metric", "mean", "std", "ci_low", "ci_high", "seeds", "classes", "pairs",
                   "grid", "complete", "missing", "records", "stale", "stale_why"]


def _why(keys, stale: Mapping[str, list[str]]) -> str:
    reasons = Counter(reason for key in keys for reason in stale.get(key, ()))
    return "; ".join(reason for reason, _ in reasons.most_common())


def summary(frame: pd.DataFrame, metric: str, by_class: bool = False, stale: Stale = ()) -> pd.DataFrame:
    """One row per entry (method, dataset[, normal class]): `mean` and `std` over seeds (std
    is NaN for one seed) of the per-seed mean over normal classes, as fractions; coverage:
    `seeds`, `classes`, `pairs` (class, seed) it has, `grid` (classes × seeds of its column),
    `complete`, `missing` (what it lacks, in words); `records`, and `stale` records among them
    (those whose keys are in `stale`, a set of keys or key → reasons) with `stale_why`;
    `metric` names the record metric (for `headline`, each dataset's own); `ci_low`, `ci_high`:
    for AUROC, the mean over the entry's records of their 95% bootstrap interval's bounds
    (NaN where a record has none)."""
    import pandas as pd

    selected = _select(frame, metric)
    by = ["method", "dataset"] + (["normal_class", "class_name"] if by_class else [])
    if selected.empty:
        return pd.DataFrame(columns=by + SUMMARY_COLUMNS[2:])
    stale = stale if isinstance(stale, Mapping) else {key: [] for key in stale}
    selected["stale"] = selected.key.isin(set(stale))
    seeds = selected.groupby(by + ["seed"], as_index=False).agg(value=("value", "mean"))
    out = seeds.groupby(by, as_index=False).agg(mean=("value", "mean"), std=("value", "std"), seeds=("seed", "nunique"))
    bounds = selected.astype({"ci_low": float, "ci_high": float}).groupby(by, as_index=False).agg(
        ci_low=("ci_low", lambda v: v.mean() if v.notna().all() else np.nan),
        ci_high=("ci_high", lambda v: v.mean() if v.notna().all() else np.nan),
    )
    out = out.merge(bounds, on=by)
    column_keys = by[1:]
    grids = {}
    for column, group in selected.groupby(column_keys):
        classes = dict(zip(group.normal_class, group.class_name))
        grids[column if isinstance(column, tuple) else (column,)] = (classes, set(group.seed))
    coverage = []
    for entry, group in selected.groupby(by):
        classes, seeds_of_column = grids[tuple(entry[1:])]
        have = set(zip(group.normal_class, group.seed))
        coverage.append({
            **dict(zip(by, entry)),
            "metric": ",".join(sorted(set(group.via))),
            "classes": group.normal_class.nunique(),
            "pairs": len(have),
            "grid": len(classes) * len(seeds_of_column),
            "missing": _missing(have, classes, seeds_of_column),
            "records": len(group),
            "stale": int(group.stale.sum()),
            "stale_why": _why(group.key, stale),
        })
    out = out.merge(pd.DataFrame(coverage), on=by)
    out["complete"] = out.missing == ""
    return out[by + SUMMARY_COLUMNS[2:]]


@dataclass
class Leaderboard:
    """A leaderboard: `values` has one row per method configuration and, per column, `mean`
    and `std` (fractions), then `(mean, mean)` over columns and `(rank, mean)`; `tidy` is
    `summary`'s; `rank_columns` are those the rank averages over (every row has them)."""

    metric: str
    values: pd.DataFrame
    tidy: pd.DataFrame
    columns: list[str] = field(default_factory=list)
    rank_columns: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.values.empty

    def entry(self, row: str, column: str) -> dict | None:
        """The tidy entry of (row, column), as a dict; None when the row lacks the column."""
        match = self.tidy[(self.tidy.method == row) & (self.tidy.column == column)]
        return None if match.empty else match.iloc[0].to_dict()


def leaderboard(frame: pd.DataFrame, metric: str, by_class: bool = False, stale: Stale = ()) -> Leaderboard:
    """The entries of `summary` as a table (rows sorted by rank, then mean)."""
    import pandas as pd

    tidy = summary(frame, metric, by_class, stale)
    if tidy.empty:
        return Leaderboard(metric, pd.DataFrame(), tidy)
    tidy["column"] = tidy.dataset if not by_class else tidy.dataset + ":" + tidy.class_name.astype(str)
    columns = list(dict.fromkeys(tidy.column))
    means = tidy.pivot(index="method", columns="column", values="mean")[columns]
    stds = tidy.pivot(index="method", columns="column", values="std")[columns]
    higher_is_better = METRICS[metric][1]
    table = pd.DataFrame(index=means.index)
    for column in columns:
        table[(column, "mean")] = means[column]
        table[(column, "std")] = stds[column]
    table[("mean", "mean")] = means.mean(axis=1, skipna=False)
    rank_columns = [column for column in columns if means[column].notna().all()]
    # rounding first: means equal up to float noise tie, as they should
    ranks = means[rank_columns].round(12).rank(ascending=not higher_is_better, method="average")
    table[("rank", "mean")] = ranks.mean(axis=1) if rank_columns else np.nan
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    order = table.sort_values([("rank", "mean"), ("mean", "mean")], ascending=[True, not higher_is_better],
                              kind="stable", na_position="last").index
    return Leaderboard(metric, table.loc[order], tidy, columns, rank_columns)


# -- rendering ---------------------------------------------------------------------------------
def metric_caption(board: Leaderboard, ci: bool = False) -> str:
    """The metric, its unit and how entries aggregate, in one line."""
    column, higher_is_better = METRICS[board.metric]
    if column == "headline":
        used = {}
        for dataset, metrics in zip(board.tidy.dataset, board.tidy.metric):
            for name in metrics.split(","):
                used.setdefault(LABELS.get(name, name), []).append(dataset)
        parts = [f"{label} ({', '.join(dict.fromkeys(datasets))})" for label, datasets in used.items()]
        label = "each dataset's headline metric: " + "; ".join(parts) if len(used) > 1 else next(iter(used))
    else:
        label = LABELS.get(column, column)
    seeds = sorted(set(board.tidy.seeds))
    spread = "one seed, no spread shown" if seeds == [1] else "± std over seeds where an entry has several"
    caption = (f"{label}, in {UNIT} ({'higher' if higher_is_better else 'lower'} is better): per entry the mean over "
               f"normal classes, then the mean over seeds ({spread})")
    if ci:
        caption += ("; [low, high]: the mean over the entry's cells of their 95% stratified bootstrap interval of "
                    "AUROC (1,000 resamples of the test images; AUROC entries only)")
    return caption


def entry_text(entry: dict | None, ci: bool = False) -> str:
    """`99.1 ± 0.3` (several seeds), `99.1` (one), `—` (none); with `ci`, the bootstrap
    interval `[98.7, 99.5]` where the entry has one; then † and ‡ marks."""
    if entry is None:
        return "—"
    text = f"{100 * entry['mean']:.1f}"
    if entry["seeds"] > 1:
        text += f" ± {100 * entry['std']:.1f}"
    if ci and not np.isnan(entry.get("ci_low", np.nan)):
        text += f" [{100 * entry['ci_low']:.1f}, {100 * entry['ci_high']:.1f}]"
    return text + (INCOMPLETE if not entry["complete"] else "") + (STALE if entry["stale"] else "")


def notes(board: Leaderboard) -> list[str]:
    """The lines under a table: what each marked entry lacks or why it is stale, and what the
    rank covers."""
    lines = []
    incomplete = board.tidy[~board.tidy.complete]
    if len(incomplete):
        lines.append(f"{INCOMPLETE} covers fewer (class, seed) pairs than its column:")
        lines += [f"  {e.method} on {e.column}: {e.pairs} of {e.grid} pairs; lacks {e.missing}"
                  for e in incomplete.head(NOTES_SHOWN).itertuples()]
        if len(incomplete) > NOTES_SHOWN:
            lines.append(f"  and {len(incomplete) - NOTES_SHOWN} more (--format csv gives every entry's coverage)")
    stale = board.tidy[board.tidy.stale > 0]
    if len(stale):
        lines.append(f"{STALE} made from stale records (other data or code than today's; `bench run` runs them again):")
        lines += [f"  {e.method} on {e.column}: {e.stale} of {e.records} record(s)" + (f": {e.stale_why}" if e.stale_why else "")
                  for e in stale.head(NOTES_SHOWN).itertuples()]
        if len(stale) > NOTES_SHOWN:
            lines.append(f"  and {len(stale) - NOTES_SHOWN} more")
    if not board.rank_columns:
        lines.append("rank: none — no column has every method")
    elif len(board.rank_columns) < len(board.columns):
        lines.append(f"rank: the average over {', '.join(board.rank_columns)} only, the columns every method has")
    return lines


def shown_table(board: Leaderboard, ci: bool = False) -> pd.DataFrame:
    """The leaderboard as text cells: entries, `mean` (over columns) and `rank`."""
    import pandas as pd

    shown = pd.DataFrame(index=board.values.index)
    for column in board.columns:
        shown[column] = [entry_text(board.entry(row, column), ci) for row in board.values.index]
    shown["mean"] = [("—" if pd.isna(v) else f"{100 * v:.1f}") for v in board.values[("mean", "mean")]]
    shown["rank"] = [("—" if pd.isna(v) else f"{v:.2f}") for v in board.values[("rank", "mean")]]
    shown.index.name = "method"
    return shown


def percent_csv(tidy: pd.DataFrame) -> str:
    """`summary`'s rows as CSV, values in percent (`unit` says so)."""
    out = tidy.copy()
    for column in ("mean", "std", "ci_low", "ci_high"):
        out[column] = (100 * out[column].astype(float)).round(4)
    out.insert(out.columns.get_loc("mean"), "unit", UNIT)
    return out.drop(columns=[c for c in ("column",) if c in out.columns]).to_csv(index=False)


def _numbers(board: Leaderboard) -> pd.DataFrame:
    """The values bold and underline go by: each column's entries as shown (percent, one
    decimal), the `mean` column, and `rank`."""
    import pandas as pd

    numbers = pd.DataFrame(index=board.values.index)
    for column in board.columns:
        numbers[column] = (100 * board.values[(column, "mean")]).round(1)
    numbers["mean"] = (100 * board.values[("mean", "mean")]).round(1)
    numbers["rank"] = board.values[("rank", "mean")].round(2)
    return numbers


def render(frame: pd.DataFrame, metric: str, fmt: str, by_class: bool = False, stale: Stale = (), *,
           ci: bool = False, reference: list | None = None) -> str:
    """The leaderboard as markdown, LaTeX or HTML (values in %, marks and notes, with `ci` the
    bootstrap intervals), or CSV (`summary`'s tidy rows in percent, with coverage); with
    `reference` (`bench.reference.Published` rows), the comparison with published numbers
    instead. "" when nothing has this metric."""
    if reference is not None:
        from bench.comparison import render_comparison

        return render_comparison(frame, metric, fmt, reference, stale=stale, ci=ci)
    if fmt == "csv":
        tidy = summary(frame, metric, by_class, stale)
        return "" if tidy.empty else percent_csv(tidy)
    board = leaderboard(frame, metric, by_class, stale)
    if board.empty:
        return ""
    shown = shown_table(board, ci)
    caption, lines = metric_caption(board, ci), notes(board)
    higher = [METRICS[metric][1]] * (len(board.columns) + 1) + [False]
    if fmt in ("latex", "html"):
        from bench import formats

        table = shown.reset_index()
        if fmt == "latex":
            return formats.to_latex(table, _numbers(board), higher, caption=caption, label=f"tab:nearbench-{metric}",
                                    notes=lines)
        return formats.to_html(table, _numbers(board), higher, caption=caption, table_id=f"leaderboard-{metric}",
                               notes=lines)
    from tabulate import tabulate

    body = tabulate(shown, headers="keys", tablefmt="github", disable_numparse=True,
                    colalign=("left",) + ("right",) * len(shown.columns))
    return "\n".join([caption, body, *lines])
