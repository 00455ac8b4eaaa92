"""Records beside published numbers: one row per (method, dataset), ours, paper and Δ.

Every entry of the leaderboard gets a row, with the published value of the same method,
dataset and metric where the reference table has one (for `headline`, the dataset's own
metric); every published pair without records gets a row too, with ours empty, so the table
shows what is left to reproduce. Δ is ours − paper in percentage points, given only for
configurations run with the `paper` profile (the published recipe): other profiles' rows show
ours, named with their profile (`dn2@smoke`), and no Δ. A published value that was not
verified in the paper or the authors' repository is marked `*`; entries that miss (class,
seed) pairs of their column or hold stale records keep the table's † and ‡, explained below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from bench.metrics import METRICS, UNIT

if TYPE_CHECKING:
    import pandas as pd

    from bench.reference import Published

UNVERIFIED = "*"
PAPER = "paper"  # the profile whose numbers are compared with published ones
COVERAGE = ["pairs", "grid", "complete", "missing", "stale", "stale_why"]  # from `bench.table.summary`
COLUMNS = ["method", "dataset", "ours", "paper", "Δ", "source"]


def _headline_of(dataset: str) -> str | None:
    """The registry's headline metric of `dataset` (a `METRICS` name), None if unknown."""
    from bench import registry

    if dataset not in registry.datasets:
        return None
    return registry.datasets.get(dataset).factory.headline


def _wanted(row: Published, metric: str) -> bool:
    """Whether published `row` is a value of the table's `metric`."""
    if metric == "headline":
        return row.metric == (_headline_of(row.dataset) or row.metric)
    return row.metric == metric


def comparison(frame: pd.DataFrame, metric: str, published: Sequence[Published], stale=(), ci: bool = False) -> pd.DataFrame:
    """The comparison as a DataFrame: text `COLUMNS` and numeric `ours_value`, `paper_value`,
    `delta` (percent), `verified`, `protocol`, sorted by dataset then method."""
    import pandas as pd

    from bench.table import _select, entry_text, summary

    tidy = summary(frame, metric, stale=stale)
    profiles = _select(frame, metric).groupby("method").profile.first() if len(tidy) else {}
    rows, matched = [], set()
    for entry in tidy.to_dict("records"):
        method, dataset = entry["method"].split("@")[0].split("#")[0], entry["dataset"].split("#")[0]
        columns = set(entry["metric"].split(","))
        paper = next((p for p in published if (p.method, p.dataset) == (method, dataset)
                      and METRICS[p.metric][0] in columns and _wanted(p, metric)), None)
        if paper is not None:
            matched.add(paper)
        profile = profiles[entry["method"]]
        label = entry["method"] if "@" in entry["method"] or profile == PAPER else f"{entry['method']}@{profile}"
        rows.append((label, entry["dataset"], entry_text(entry, ci), 100 * entry["mean"], paper, profile == PAPER, entry))
    for paper in published:
        if paper not in matched and _wanted(paper, metric):
            rows.append((paper.method, paper.dataset, "—", np.nan, paper, True, {}))
    table = []
    for method, dataset, ours, ours_value, paper, comparable, entry in rows:
        paper_value = paper.value if paper is not None else np.nan
        delta = ours_value - paper_value if comparable else np.nan
        table.append({
            "method": method, "dataset": dataset, "ours": ours,
            "paper": "—" if paper is None else f"{paper.value:.1f}{'' if paper.verified else UNVERIFIED}",
            "Δ": "—" if np.isnan(delta) else f"{delta:+.1f}".replace("-", "−"),
            "source": "" if paper is None else paper.source,
            "ours_value": ours_value, "paper_value": paper_value, "delta": delta,
            "verified": None if paper is None else paper.verified, "protocol": "" if paper is None else paper.protocol,
            "other_profile": paper is not None and not comparable,
            **{name: entry.get(name, np.nan) for name in COVERAGE},
        })
    return pd.DataFrame(table, columns=COLUMNS + ["ours_value", "paper_value", "delta", "verified", "protocol",
                                                  "other_profile", *COVERAGE]) \
        .sort_values(["dataset", "method"], kind="stable").reset_index(drop=True)


def caption(metric: str, ci: bool) -> str:
    column, higher_is_better = METRICS[metric]
    what = "each dataset's headline metric" if column == "headline" else column
    text = (f"{what}, in {UNIT} ({'higher' if higher_is_better else 'lower'} is better): ours is the mean over normal "
            f"classes, then over seeds, of our records; paper the published value; Δ = ours − paper, in points")
    return text + ("; [low, high]: 95% bootstrap interval of AUROC" if ci else "")


def notes(table: pd.DataFrame) -> list[str]:
    lines = []
    if (table.verified == False).any():  # noqa: E712 - None means no published value
        lines.append(f"{UNVERIFIED} not verified in the paper or the authors' repository (from an aggregator)")
    missing = int(table.ours_value.isna().sum())
    if missing:
        lines.append(f"{missing} published value(s) without records: left to reproduce")
    other = int(table.other_profile.sum())
    if other:
        lines.append(f"no Δ for {other} row(s) run with another profile than `{PAPER}` (the published recipe)")
    from bench.table import INCOMPLETE, STALE

    for entry in table[table.complete == False].itertuples():  # noqa: E712 - NaN: a published row alone
        lines.append(f"{INCOMPLETE} {entry.method} on {entry.dataset}: {entry.pairs:.0f} of {entry.grid:.0f} "
                     f"(class, seed) pairs; lacks {entry.missing}")
    for entry in table[table.stale > 0].itertuples():
        lines.append(f"{STALE} {entry.method} on {entry.dataset}: {entry.stale:.0f} stale record(s)"
                     + (f": {entry.stale_why}" if entry.stale_why else ""))
    return lines


def render_comparison(frame: pd.DataFrame, metric: str, fmt: str, published: Sequence[Published], *, stale=(),
                      ci: bool = False) -> str:
    """The comparison in `fmt` (markdown, latex, html, csv); "" when there is nothing."""
    table = comparison(frame, metric, published, stale, ci)
    if table.empty:
        return ""
    if fmt == "csv":
        out = table[["method", "dataset", "ours_value", "paper_value", "delta", "verified", "protocol", "source",
                     *COVERAGE]]
        out = out.rename(columns={"ours_value": "ours", "paper_value": "paper"})
        out.insert(2, "metric", metric)
        out.insert(3, "unit", UNIT)
        return out.to_csv(index=False)
    shown = table[COLUMNS]
    text_caption, lines = caption(metric, ci), notes(table)
    if fmt in ("latex", "html"):
        import pandas as pd

        from bench import formats

        numbers = pd.DataFrame({"dataset": np.nan, "ours": np.nan, "paper": np.nan,
                                "Δ": np.nan, "source": np.nan}, index=shown.index)
        flags = [True] * len(numbers.columns)
        if fmt == "latex":
            return formats.to_latex(shown, numbers, flags, caption=text_caption, label=f"tab:nearbench-{metric}-paper",
                                    notes=lines, align="llrrrl")
        return formats.to_html(shown, numbers, flags, caption=text_caption, table_id=f"paper-{metric}", notes=lines,
                               left=2)
    from tabulate import tabulate

    body = tabulate(shown, headers="keys", tablefmt="github", showindex=False, disable_numparse=True,
                    colalign=("left", "left", "right", "right", "right", "left"))
    return "\n".join([text_caption, body, *lines])
