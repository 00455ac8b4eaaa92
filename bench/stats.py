"""Are the differences between methods significant? Friedman's test over (dataset, normal
class) blocks, Nemenyi's post-hoc test and a critical-difference diagram (Demšar, "Statistical
Comparisons of Classifiers over Multiple Data Sets", JMLR 7, 2006).

A block is one normal class of one dataset; a method's value in it is its metric averaged over
seeds. Only blocks every compared method has take part (a method lacking most of them is left
out, and named, when that keeps more blocks). Friedman's χ² comes from SciPy
(`scipy.stats.friedmanchisquare`), the pairwise Nemenyi p-values and the diagram from
scikit-posthocs (`posthoc_nemenyi_friedman`, `critical_difference_diagram`); the critical
difference is q_α / √2 · √(k(k+1)/(6N)), q from SciPy's studentized range distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bench.errors import UserError
from bench.metrics import METRICS

if TYPE_CHECKING:
    import pandas as pd

ALPHA = 0.05


@dataclass
class Comparison:
    """The outcome: `blocks` ((dataset, class) × method values), `average_ranks` (1 = best),
    Friedman's `statistic` and `p_value`, Nemenyi's `pairwise` p-values, the `critical_difference`
    in average rank at `alpha`, and the methods `left_out` for lack of blocks."""

    metric: str
    blocks: pd.DataFrame
    average_ranks: pd.Series
    statistic: float
    p_value: float
    pairwise: pd.DataFrame
    critical_difference: float
    alpha: float = ALPHA
    left_out: list[str] = field(default_factory=list)

    def different_pairs(self) -> list[tuple[str, str, float]]:
        """(better, worse, p) for every pair Nemenyi's test tells apart at `alpha`."""
        methods = list(self.average_ranks.sort_values().index)
        return [
            (a, b, float(self.pairwise.loc[a, b]))
            for i, a in enumerate(methods) for b in methods[i + 1:]
            if self.pairwise.loc[a, b] < self.alpha
        ]

    def lines(self) -> list[str]:
        """The comparison in words, for under a table."""
        k, n = self.blocks.shape[1], self.blocks.shape[0]
        ranks = ", ".join(f"{m} {r:.2f}" for m, r in self.average_ranks.sort_values().items())
        lines = [
            f"Friedman test over {n} (dataset, normal class) blocks, {k} methods: χ² = {self.statistic:.2f}, "
            f"p = {self.p_value:.3g}" + (" — the methods differ" if self.p_value < self.alpha
                                         else f" — no difference shown at α = {self.alpha}"),
            f"average rank (1 = best): {ranks}",
            f"Nemenyi post-hoc test, α = {self.alpha}: critical difference {self.critical_difference:.2f} in average rank",
        ]
        pairs = self.different_pairs()
        if pairs:
            shown = "; ".join(f"{a} > {b} (p = {p:.2g})" for a, b, p in pairs[:12])
            lines.append(f"significantly different: {shown}" + (f"; and {len(pairs) - 12} more" if len(pairs) > 12 else ""))
        else:
            lines.append("no pair is significantly different")
        if self.left_out:
            lines.append(f"left out for lack of common blocks: {', '.join(self.left_out)}")
        return lines

    def diagram(self, path=None):
        """The critical-difference diagram (matplotlib Figure), saved to `path` if given."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import scikit_posthocs as sp

        figure, ax = plt.subplots(figsize=(7, 0.9 + 0.28 * len(self.average_ranks)))
        sp.critical_difference_diagram(self.average_ranks, self.pairwise, alpha=self.alpha, ax=ax)
        ax.set_title(f"average rank on {METRICS[self.metric][0]} over {self.blocks.shape[0]} blocks "
                     f"(lines join methods Nemenyi's test does not tell apart, α = {self.alpha})", fontsize=8)
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=150)
        return figure


def block_values(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """(dataset, normal class) × method label: the metric averaged over seeds."""
    from bench.table import _select

    selected = _select(frame, metric)
    return selected.pivot_table(index=["dataset", "normal_class"], columns="method", values="value", aggfunc="mean")


def compare(frame: pd.DataFrame, metric: str, alpha: float = ALPHA) -> Comparison:
    """Friedman and Nemenyi over the blocks of `frame` (a `bench.table.long_frame`); UserError
    when fewer than three methods share at least two blocks."""
    import scikit_posthocs as sp
    from scipy import stats

    blocks = block_values(frame, metric)
    left_out = []
    while blocks.shape[1] > 3 and len(blocks.dropna()) < max(2, blocks.notna().sum().max() // 2):
        weakest = blocks.notna().sum().idxmin()  # the method whose absence keeps the most blocks
        left_out.append(weakest)
        blocks = blocks.drop(columns=weakest)
    blocks = blocks.dropna()
    if blocks.shape[1] < 3 or len(blocks) < 2:
        raise UserError(f"--stats needs at least 3 methods sharing 2 or more (dataset, normal class) blocks; "
                        f"these records give {blocks.shape[1]} method(s) on {len(blocks)} common block(s)")
    higher_is_better = METRICS[metric][1]
    ranks = blocks.rank(axis=1, ascending=not higher_is_better, method="average")
    statistic, p_value = stats.friedmanchisquare(*(blocks[m].to_numpy() for m in blocks.columns))
    pairwise = sp.posthoc_nemenyi_friedman(blocks.to_numpy())
    pairwise.index = pairwise.columns = blocks.columns
    k, n = blocks.shape[1], len(blocks)
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return Comparison(
        metric=metric, blocks=blocks, average_ranks=ranks.mean(), statistic=float(statistic),
        p_value=float(p_value), pairwise=pairwise, critical_difference=float(q * np.sqrt(k * (k + 1) / (6 * n))),
        alpha=alpha, left_out=left_out,
    )
