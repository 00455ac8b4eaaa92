"""The report's figures, drawn with matplotlib (Agg, no display) and returned as PNG bytes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

MAX_BARS_METHODS = 10  # per-class bars: the best-ranked methods, so that bars stay readable


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(figure) -> bytes:
    """`figure` as PNG bytes (closed afterwards)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def per_class_bars(tidy: pd.DataFrame, dataset: str, metric_label: str, methods: list[str]) -> bytes:
    """Grouped bars: one group per normal class of `dataset`, one bar per method of `methods`
    (in that order), height the metric in % (mean over seeds) from a by-class `summary`."""
    import numpy as np

    plt = _pyplot()
    rows = tidy[(tidy.dataset == dataset) & tidy.method.isin(methods)]
    classes = list(dict.fromkeys(rows.sort_values("normal_class").class_name))
    width = 0.8 / max(1, len(methods))
    figure, ax = plt.subplots(figsize=(min(16, 2 + 0.45 * len(classes) * max(1, len(methods)) ** 0.5), 3.2))
    for index, method in enumerate(methods):
        values = rows[rows.method == method].set_index("class_name")["mean"].reindex(classes)
        ax.bar(np.arange(len(classes)) + index * width - 0.4 + width / 2, 100 * values.to_numpy(), width, label=method)
    ax.set_xticks(np.arange(len(classes)), classes, rotation=45 if len(classes) > 10 else 0, ha="right" if len(classes) > 10 else "center", fontsize=7)
    ax.set_ylabel(f"{metric_label} (%)")
    ax.set_title(f"{dataset}: {metric_label} per normal class (mean over seeds)", fontsize=9)
    low = np.nanmin(100 * rows["mean"].to_numpy()) if len(rows) else 0
    ax.set_ylim(max(0, low - 5), 100)
    ax.legend(fontsize=7, ncol=min(5, len(methods)), loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    return png(figure)


def near_drop(points: pd.DataFrame, metric_label: str) -> bytes:
    """One line per method from its mean on standard sets to its mean on near-distribution
    sets (columns `method`, `standard`, `near`, fractions), largest drop first."""
    import numpy as np

    plt = _pyplot()
    points = points.assign(drop=points.standard - points.near).sort_values("drop", ascending=True)
    figure, ax = plt.subplots(figsize=(7, 0.9 + 0.32 * len(points)))
    y = np.arange(len(points))
    ax.hlines(y, 100 * points.near, 100 * points.standard, color="#999999", linewidth=2)
    ax.scatter(100 * points.standard, y, color="#1f77b4", label="standard sets", zorder=3)
    ax.scatter(100 * points.near, y, color="#d62728", label="near-distribution sets", zorder=3)
    ax.set_yticks(y, list(points.method), fontsize=8)
    ax.set_xlabel(f"{metric_label} (%), mean over datasets")
    ax.set_title("standard vs near-distribution: each method's drop", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(axis="x", alpha=0.3)
    return png(figure)
