"""Leaderboard numbers from synthetic records, checked by hand arithmetic."""

import numpy as np
import pandas as pd
import pytest

from bench.cell import Cell
from bench.table import leaderboard, long_frame, render, summary


def make_record(method, dataset, normal_class, seed, auroc, profile="smoke", params=None, per_class=None, status="ok"):
    cell = Cell(method, dataset, normal_class, seed, profile, method_params=params or {}, class_name=str(normal_class))
    return {
        "cell": cell.to_dict(),
        "status": status,
        "metrics": {
            "auroc": auroc,
            "aupr": auroc / 2,
            "fpr95_anomaly_positive": 1 - auroc,
            "auroc_per_class": per_class or {"x": auroc},
        },
    }


@pytest.fixture
def records():
    values = {
        # method → dataset → seed → per-class AUROC (classes 0 and 1)
        "good": {"d1": {0: (0.9, 0.8), 1: (1.0, 0.9)}, "d2": {0: (0.7, 0.7), 1: (0.7, 0.7)}},
        "bad": {"d1": {0: (0.6, 0.6), 1: (0.5, 0.5)}, "d2": {0: (0.8, 0.8), 1: (0.6, 0.6)}},
    }
    out = [
        make_record(method, dataset, c, seed, per_class[c])
        for method, by_dataset in values.items()
        for dataset, by_seed in by_dataset.items()
        for seed, per_class in by_seed.items()
        for c in (0, 1)
    ]
    out.append(make_record("good", "d1", 0, 7, 0.0, status="failed"))  # failed cells do not count
    return out


def test_mean_over_classes_then_mean_std_over_seeds(records):
    tidy = summary(long_frame(records), "auroc").set_index(["row", "dataset"])
    # good/d1: seed 0 → (0.9 + 0.8)/2 = 0.85, seed 1 → 0.95; mean 0.9, sample std 0.0707
    assert tidy.loc[("good", "d1"), "mean"] == pytest.approx(0.9)
    assert tidy.loc[("good", "d1"), "std"] == pytest.approx(np.std([0.85, 0.95], ddof=1))
    assert tidy.loc[("good", "d1"), "seeds"] == 2 and tidy.loc[("good", "d1"), "classes"] == 2
    assert tidy.loc[("bad", "d2"), "mean"] == pytest.approx(0.7)


def test_mean_and_rank_columns(records):
    table = leaderboard(long_frame(records), "auroc")
    # d1: good 0.9 > bad 0.55; d2: good 0.7 = bad 0.7 (tie: 1.5 each)
    assert table.loc["good", ("mean", "mean")] == pytest.approx((0.9 + 0.7) / 2)
    assert table.loc["good", ("rank", "mean")] == pytest.approx((1 + 1.5) / 2)
    assert table.loc["bad", ("rank", "mean")] == pytest.approx((2 + 1.5) / 2)
    assert list(table.index)[0] == "good"


def test_lower_is_better_for_fpr95(records):
    table = leaderboard(long_frame(records), "fpr95-anomaly-positive")
    assert table.loc["good", ("d1", "mean")] == pytest.approx(0.1)
    assert list(table.index)[0] == "good"


def test_worst_class_aggregation():
    records = [
        make_record("m", "d", 0, 0, 0.9, per_class={"a": 0.99, "b": 0.61}),
        make_record("m", "d", 1, 0, 0.9, per_class={"a": 0.8, "b": 0.9}),
    ]
    frame = long_frame(records)
    assert summary(frame, "auroc-worst").loc[0, "mean"] == pytest.approx((0.61 + 0.8) / 2)
    assert summary(frame, "auroc-classmean").loc[0, "mean"] == pytest.approx((0.8 + 0.85) / 2)


def test_per_class_columns(records):
    table = leaderboard(long_frame(records), "auroc", by_class=True)
    assert table.loc["good", ("d1:0", "mean")] == pytest.approx(0.95)
    assert table.loc["good", ("d1:1", "mean")] == pytest.approx(0.85)


def test_several_configs_of_one_method_get_distinct_rows():
    records = [
        make_record("m", "d", 0, 0, 0.8, params={"k": 2}),
        make_record("m", "d", 0, 0, 0.6, params={"k": 3}),
        make_record("m", "d", 0, 0, 0.7, profile="paper"),
    ]
    rows = set(leaderboard(long_frame(records), "auroc").index)
    assert len(rows) == 3 and "m@paper" in rows
    assert all(row.startswith("m@smoke#") for row in rows - {"m@paper"})


def test_missing_dataset_leaves_mean_empty_and_renders_a_dash(records):
    records = records + [make_record("only-d1", "d1", 0, 0, 0.99), make_record("only-d1", "d1", 1, 0, 0.99)]
    text = render(long_frame(records), "auroc", "markdown")
    line = next(line for line in text.splitlines() if "only-d1" in line)
    assert "99.0 ± 0.0" in line and "—" in line


@pytest.mark.parametrize("fmt, marker", [("markdown", "|"), ("latex", "\\toprule"), ("html", "<table"), ("csv", "method,dataset")])
def test_formats(records, fmt, marker):
    text = render(long_frame(records), "auroc", fmt)
    assert marker in text and "good" in text
    if fmt == "markdown":
        assert "90.0 ± 7.1" in text  # good on d1, in percent


def test_csv_is_tidy_numbers(records):
    from io import StringIO

    frame = pd.read_csv(StringIO(render(long_frame(records), "auroc", "csv")))
    assert set(frame.columns) >= {"method", "dataset", "mean", "std", "seeds", "classes"}
    assert frame.set_index(["method", "dataset"]).loc[("good", "d1"), "mean"] == pytest.approx(0.9)
