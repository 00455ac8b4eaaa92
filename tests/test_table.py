"""Leaderboard numbers from synthetic records, checked by hand arithmetic; coverage, stale and
rank marks on uneven grids."""

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
    tidy = summary(long_frame(records), "auroc").set_index(["method", "dataset"])
    # good/d1: seed 0 → (0.9 + 0.8)/2 = 0.85, seed 1 → 0.95; mean 0.9, sample std 0.0707
    assert tidy.loc[("good", "d1"), "mean"] == pytest.approx(0.9)
    assert tidy.loc[("good", "d1"), "std"] == pytest.approx(np.std([0.85, 0.95], ddof=1))
    assert tidy.loc[("good", "d1"), "seeds"] == 2 and tidy.loc[("good", "d1"), "classes"] == 2
    assert tidy.loc[("bad", "d2"), "mean"] == pytest.approx(0.7)


def test_mean_and_rank_columns(records):
    table = leaderboard(long_frame(records), "auroc").values
    # d1: good 0.9 > bad 0.55; d2: good 0.7 = bad 0.7 (tie: 1.5 each)
    assert table.loc["good", ("mean", "mean")] == pytest.approx((0.9 + 0.7) / 2)
    assert table.loc["good", ("rank", "mean")] == pytest.approx((1 + 1.5) / 2)
    assert table.loc["bad", ("rank", "mean")] == pytest.approx((2 + 1.5) / 2)
    assert list(table.index)[0] == "good"


def test_lower_is_better_for_fpr95(records):
    table = leaderboard(long_frame(records), "fpr95-anomaly-positive").values
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
    table = leaderboard(long_frame(records), "auroc", by_class=True).values
    assert table.loc["good", ("d1:0", "mean")] == pytest.approx(0.95)
    assert table.loc["good", ("d1:1", "mean")] == pytest.approx(0.85)


def test_several_configs_of_one_method_get_distinct_rows():
    records = [
        make_record("m", "d", 0, 0, 0.8, params={"k": 2}),
        make_record("m", "d", 0, 0, 0.6, params={"k": 3}),
        make_record("m", "d", 0, 0, 0.7, profile="paper"),
    ]
    rows = set(leaderboard(long_frame(records), "auroc").values.index)
    assert len(rows) == 3 and "m@paper" in rows
    assert all(row.startswith("m@smoke#") for row in rows - {"m@paper"})


def test_missing_dataset_leaves_mean_empty_and_renders_a_dash(records):
    records = records + [make_record("only-d1", "d1", 0, 0, 0.99), make_record("only-d1", "d1", 1, 0, 0.99)]
    text = render(long_frame(records), "auroc", "markdown")
    line = next(line for line in text.splitlines() if line.startswith("| only-d1"))
    assert " 99.0† |" in line and "—" in line and "±" not in line  # one seed of two: marked, no "± 0.0"


@pytest.mark.parametrize("fmt, marker", [("markdown", "|"), ("latex", "\\toprule"), ("html", "<table"), ("csv", "method,dataset")])
def test_formats(records, fmt, marker):
    text = render(long_frame(records), "auroc", fmt)
    assert marker in text and "good" in text
    if fmt == "markdown":
        assert "90.0 ± 7.1" in text  # good on d1, in percent


def test_csv_is_tidy_numbers_with_coverage(records):
    from io import StringIO

    records = records + [make_record("partial", "d1", 0, 0, 0.5)]
    frame = pd.read_csv(StringIO(render(long_frame(records), "auroc", "csv"))).set_index(["method", "dataset"])
    assert set(frame.columns) >= {"metric", "mean", "std", "seeds", "classes", "pairs", "grid", "complete", "missing"}
    assert frame.loc[("good", "d1"), "mean"] == pytest.approx(90)  # percent
    assert frame.loc[("good", "d1"), "unit"] == "%"
    assert frame.loc[("good", "d1"), ["pairs", "grid", "complete"]].tolist() == [4, 4, True]
    assert frame.loc[("partial", "d1"), ["pairs", "grid", "complete"]].tolist() == [1, 4, False]
    assert frame.loc[("partial", "d1"), "missing"] == "class 1; seed 1"
    assert set(frame.metric) == {"auroc"}


def grid_records(method, dataset, classes, seeds, value=0.8):
    return [make_record(method, dataset, c, s, value + 0.01 * c + 0.001 * s) for c in classes for s in seeds]


def marked_entries(text):
    """(row, column) of every entry marked †, from a markdown table."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    marked = set()
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        marked |= {(cells[0], header[i]) for i, cell in enumerate(cells) if "†" in cell}
    return marked


def test_an_uneven_grid_marks_exactly_the_incomplete_entries():
    records = (
        grid_records("full", "d1", range(3), range(3)) + grid_records("full", "d2", range(2), range(2))
        + grid_records("few", "d1", range(2), [0])  # 2 classes and 1 seed of d1's 3 × 3
        + grid_records("few", "d2", range(2), range(2))  # complete
        + grid_records("holes", "d1", range(3), range(3))[1:]  # one (class, seed) pair short
    )
    text = render(long_frame(records), "auroc", "markdown")
    assert marked_entries(text) == {("few", "d1"), ("holes", "d1")}
    assert "few on d1: 2 of 9 pairs; lacks class 2; seeds 1, 2" in text
    assert "holes on d1: 8 of 9 pairs; lacks class/seed 0/s0" in text


def test_an_even_grid_marks_nothing():
    records = [r for m in ("a", "b", "c") for d in ("d1", "d2") for r in grid_records(m, d, range(3), range(2))]
    text = render(long_frame(records), "auroc", "markdown")
    assert "†" not in text and "‡" not in text and "rank:" not in text
    body = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert sum(line.count("±") for line in body) == 6  # every entry has two seeds: mean ± std


def test_rank_uses_only_the_datasets_every_method_has():
    records = (grid_records("a", "d1", [0], [0], 0.9) + grid_records("a", "d2", [0], [0], 0.6)
               + grid_records("b", "d1", [0], [0], 0.8) + grid_records("b", "d2", [0], [0], 0.7)
               + grid_records("lonely", "d2", [0], [0], 0.99))  # best on the one dataset it has
    board = leaderboard(long_frame(records), "auroc")
    assert board.rank_columns == ["d2"]
    assert board.values.loc["lonely", ("rank", "mean")] == 1 and board.values.loc["a", ("rank", "mean")] == 3
    text = render(long_frame(records), "auroc", "markdown")
    assert "rank: the average over d2 only, the columns every method has" in text
    alone = render(long_frame(grid_records("a", "d1", [0], [0]) + grid_records("b", "d2", [0], [0])), "auroc", "markdown")
    assert "rank: none — no column has every method" in alone


def test_caption_names_the_metric_and_unit():
    records = grid_records("a", "d1", [0], [0])
    assert render(long_frame(records), "auroc", "markdown").splitlines()[0].startswith("AUROC, in % (higher is better)")
    assert render(long_frame(records), "fpr95-anomaly-positive", "markdown").splitlines()[0].startswith(
        "FPR@95%TPR (anomalies positive), in % (lower is better)")
    worst = dict(make_record("a", "d2", 0, 0, 0.9, per_class={"x": 0.7, "y": 0.8}), headline="auroc-worst")
    caption = render(long_frame(records + [worst]), "headline", "markdown").splitlines()[0]
    assert caption.startswith("each dataset's headline metric: AUROC (d1); worst-class AUROC (d2)")


def test_stale_entries_are_marked_with_why():
    records = grid_records("a", "d1", range(2), [0]) + grid_records("b", "d1", range(2), [0])
    stale = {records[0]["cell"]["key"]: ["code of a changed (bench.methods.a)"]}
    text = render(long_frame(records), "auroc", "markdown", stale=stale)
    assert "‡" in next(line for line in text.splitlines() if line.startswith("| a"))
    assert "‡" not in next(line for line in text.splitlines() if line.startswith("| b"))
    assert "a on d1: 1 of 2 record(s): code of a changed (bench.methods.a)" in text
