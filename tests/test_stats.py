"""Friedman and Nemenyi over (dataset, normal class) blocks, checked against their formulas."""

import numpy as np
import pytest
from scipy import stats

from bench.errors import UserError
from bench.stats import compare
from bench.table import long_frame
from tests.test_table import make_record


def frame_of(values: dict, seeds=(0,)):
    """method → {(dataset, class): AUROC}."""
    return long_frame([make_record(m, d, c, s, v + 0.001 * s) for m, blocks in values.items()
                       for (d, c), v in blocks.items() for s in seeds])


def blocks(n, offset, rng):
    return {("d1" if i < n // 2 else "d2", i): float(np.clip(0.7 + offset + rng.normal(0, 0.05), 0, 1)) for i in range(n)}


def test_nemenyi_p_values_and_ranks_follow_their_formulas():
    rng = np.random.default_rng(0)
    values = {"a": blocks(12, 0.1, rng), "b": blocks(12, 0.0, rng), "c": blocks(12, -0.1, rng), "d": blocks(12, -0.12, rng)}
    comparison = compare(frame_of(values, seeds=(0, 1)), "auroc")
    table = np.array([[values[m][key] for m in "abcd"] for key in values["a"]])
    ranks = stats.rankdata(-table, axis=1).mean(axis=0)
    assert comparison.average_ranks.to_dict() == pytest.approx(dict(zip("abcd", ranks)), abs=1e-9)
    n, k = table.shape
    scale = np.sqrt(k * (k + 1) / (6 * n))
    for i, j in [(0, 1), (0, 3), (1, 2)]:
        q = abs(ranks[i] - ranks[j]) / scale
        expected = stats.studentized_range.sf(q * np.sqrt(2), k, np.inf)
        assert comparison.pairwise.loc["abcd"[i], "abcd"[j]] == pytest.approx(expected, rel=1e-3, abs=1e-6)
    assert comparison.critical_difference == pytest.approx(2.569 * scale, rel=1e-3)  # Demšar's q_0.05 for k = 4
    assert ("a", "d", pytest.approx(comparison.pairwise.loc["a", "d"])) in comparison.different_pairs()


def test_a_method_with_few_blocks_is_left_out_and_named():
    rng = np.random.default_rng(1)
    values = {m: blocks(10, o, rng) for m, o in zip("abc", (0.1, 0, -0.1))}
    values["sparse"] = dict(list(blocks(10, 0, rng).items())[:1])
    comparison = compare(frame_of(values), "auroc")
    assert comparison.left_out == ["sparse"] and comparison.blocks.shape == (10, 3)
    assert "left out for lack of common blocks: sparse" in comparison.lines()


def test_too_few_methods_or_blocks_is_a_user_error():
    rng = np.random.default_rng(2)
    with pytest.raises(UserError, match="at least 3 methods"):
        compare(frame_of({"a": blocks(6, 0, rng), "b": blocks(6, 0, rng)}), "auroc")
    with pytest.raises(UserError, match="on 1 common block"):
        compare(frame_of({m: {("d1", 0): 0.5 + 0.1 * i} for i, m in enumerate("abc")}), "auroc")
