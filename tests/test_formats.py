"""LaTeX and HTML tables: structure, best and second marks, caption, label; the tidy CSV in
percent; the published reference table."""

import csv
import io
import re

import pytest

from bench import registry
from bench.metrics import METRICS
from bench.reference import COLUMNS, load, parse
from bench.table import long_frame, render
from tests.test_table import grid_records, make_record


@pytest.fixture
def frame():
    records = (grid_records("good", "d1", range(2), range(2), 0.9) + grid_records("good", "d2", range(2), range(2), 0.6)
               + grid_records("mid", "d1", range(2), range(2), 0.8) + grid_records("mid", "d2", range(2), range(2), 0.7)
               + grid_records("low", "d1", range(2), [0], 0.5) + grid_records("low", "d2", range(2), range(2), 0.9))
    records += [make_record("mid", "d1", 0, 0, 0.85, params={"k": 3, "note": "a_b#c"})]  # a second configuration
    return long_frame(records)


def test_latex_is_a_booktabs_float_with_caption_label_and_marks(frame):
    text = render(frame, "auroc", "latex")
    assert text.startswith("\\begin{table}[htbp]") and text.rstrip().endswith("\\end{table}")
    assert "\\centering" in text and "\\begin{tabular}{lrrrr}" in text
    assert text.index("\\toprule") < text.index("\\midrule") < text.index("\\bottomrule")
    caption = re.search(r"\\caption\{(.*)\}", text).group(1)
    assert caption.startswith("AUROC, in \\% (higher is better)")
    assert "\\label{tab:nearbench-auroc}" in text
    rows = {line.split(" & ")[0]: line for line in text.splitlines() if " & " in line and "\\\\" in line}
    assert set(rows) >= {"method", "good", "low"}
    assert "$\\pm$" in rows["good"] and "±" not in text
    assert "\\textsuperscript{\\dag}" in rows["low"]  # one seed of two on d1
    labels = [name for name in rows if name.startswith("mid")]
    assert len(labels) == 2 and all("\\#" in name for name in labels)  # `#` escaped in configuration labels
    # d1: good 90.5 best (bold), then the mid configuration at 85.0 or 80.5 underlined
    assert "\\textbf{90.5 $\\pm$ 0.1}" in rows["good"]
    assert sum("\\underline{" in rows[name].split(" & ")[1] for name in labels) == 1
    assert "\\footnotesize" in text and "covers fewer (class, seed) pairs" in text  # the notes under it


def test_html_marks_best_bold_second_underlined_and_aligns_the_method_left(frame):
    text = render(frame, "fpr95-anomaly-positive", "html")
    assert "<caption>FPR@95%TPR (anomalies positive), in % (lower is better)" in text
    assert "font-weight: bold" in text and "text-decoration: underline" in text
    assert "text-align: left" in text and 'class="notes"' in text
    assert "border-top: 2px solid" in text and "border=" not in text  # rules, not pandas' bordered default


def test_csv_is_tidy_in_percent_with_metric_and_coverage(frame):
    rows = list(csv.DictReader(io.StringIO(render(frame, "auroc", "csv"))))
    good = next(r for r in rows if r["method"] == "good" and r["dataset"] == "d1")
    assert good["unit"] == "%" and good["metric"] == "auroc"
    assert float(good["mean"]) == pytest.approx(90.55) and good["complete"] == "True" and good["pairs"] == "4"
    low = next(r for r in rows if r["method"] == "low" and r["dataset"] == "d1")
    assert low["complete"] == "False" and low["missing"] == "seed 1"


def test_the_packaged_reference_is_keyed_by_registry_names():
    rows = load("paper")
    assert {c for c in COLUMNS} == {"method", "dataset", "metric", "protocol", "value", "source", "verified"}
    assert all(row.dataset in registry.datasets for row in rows), [r.dataset for r in rows if r.dataset not in registry.datasets]
    pending = {"panda-oe"}  # published number of a method nearbench does not register yet
    assert all(row.method in registry.methods or row.method in pending for row in rows)
    assert all(row.metric in METRICS and row.source and row.protocol for row in rows)
    fitymi = {(r.dataset, r.metric): r.value for r in rows if r.method == "fitymi"}
    assert fitymi[("cifar10", "auroc")] == 99.1 and fitymi[("cifar10-vs-cifar100", "auroc-worst")] == 90.0
    assert not any(r.method == "csi" and r.dataset == "cifar10-vs-cifar100" for r in rows)  # another protocol
    assert {r.verified for r in rows if r.dataset.startswith("cifar10-fs")} == {False}


def test_a_reference_file_of_ones_own_is_checked(tmp_path):
    from bench.errors import UserError

    good = tmp_path / "mine.csv"
    good.write_text(",".join(COLUMNS) + "\ndn2,digits,auroc,one-class,97.5,my run,yes\n")
    assert load(str(good))[0].value == 97.5
    with pytest.raises(UserError, match=r"mine.csv:2: value 'high' is not a number"):
        parse(",".join(COLUMNS) + "\ndn2,digits,auroc,one-class,high,my run,yes\n", "mine.csv")
    with pytest.raises(UserError, match="missing verified"):
        parse("method,dataset,metric,protocol,value,source\n", "mine.csv")
    with pytest.raises(UserError, match="give paper"):
        load(str(tmp_path / "absent.csv"))


def test_the_reference_table_ships_with_the_package(tmp_path):
    """setuptools' build_py (what a wheel holds of the bench package) copies it beside the code."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib",
                    str(tmp_path)], cwd=root, check=True, capture_output=True)
    assert (tmp_path / "bench" / "published.csv").read_bytes() == (root / "bench" / "published.csv").read_bytes()
    assert (tmp_path / "bench" / "reference.py").is_file()
