"""Paper-ready outputs on a 3-method × 2-dataset embedded sweep: bootstrap intervals,
significance, published numbers, and a report a real browser renders with every image."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from tests.conftest import run_cli

METHODS, DATASETS, CLASSES = "dn2,pyod-knn,pyod-lof", "digits,digits-worst", "0,1,2"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Records of the sweep, and a fake bank in the cache (the report's fake samples)."""
    folder = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE", str(folder / "cache"))
        results = folder / "results"
        status, _, err = run_cli("run", "--methods", METHODS, "--datasets", DATASETS, "--classes", CLASSES,
                                 "--quiet", "--executor", "inline", "--results", str(results))
        assert status == 0, err
        status, _, err = run_cli("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan",
                                 "--set", "train_steps=5", "--n", "32", "--quiet", "--device", "cpu")
        assert status == 0, err
        yield folder


def test_intervals_and_significance_on_the_sweep(sweep):
    import bench

    status, out, err = run_cli("table", "--results", str(sweep / "results"), "--ci", "--stats",
                               "--cd-diagram", str(sweep / "cd.png"))
    assert status == 0, err
    dn2 = next(line for line in out.splitlines() if line.startswith("| dn2"))
    low, high = map(float, re.search(r"\[([\d.]+), ([\d.]+)\]", dn2).groups())
    mean = float(dn2.split("|")[2].split()[0])
    assert low <= mean <= high
    # Friedman's χ² by Demšar's formula from the blocks' ranks (no ties among these values)
    frame = bench.records(str(sweep / "results"))
    blocks = frame[frame.metric == "headline"].pivot_table(index=["dataset", "normal_class"], columns="method", values="value")
    ranks = blocks.rank(axis=1, ascending=False)
    n, k = ranks.shape
    chi2 = 12 * n / (k * (k + 1)) * ((ranks.mean() ** 2).sum() - k * (k + 1) ** 2 / 4)
    assert f"χ² = {chi2:.2f}" in out
    assert f"p = {stats.chi2.sf(chi2, k - 1):.3g}" in out
    cd = 2.343 * np.sqrt(k * (k + 1) / (6 * n))  # Demšar's Table 5: q_0.05 = 2.343 for 3 methods
    assert f"critical difference {cd:.2f}" in out
    assert Image.open(sweep / "cd.png").size[0] > 300


def test_the_reference_table_lists_published_numbers_beside_empty_entries(sweep):
    status, out, err = run_cli("table", "--results", str(sweep / "results"), "--reference", "paper")
    assert status == 0, err
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:5]) for line in out.splitlines()
            if line.startswith("| ")}
    assert ("fitymi", "cifar10", "—", "99.1", "—") in rows
    assert ("fitymi", "cifar10-vs-cifar100", "—", "90.0", "—") in rows  # its headline: the worst-class AUROC
    assert ("fitymi", "cifar10-fsde", "—", "96.4*", "—") in rows  # unverified, marked
    assert any(row[:2] == ("dn2@smoke", "digits") and row[3] == "—" for row in rows)  # ours, no published value
    assert "* not verified in the paper" in out and "left to reproduce" in out
    status, out, _ = run_cli("table", "--results", str(sweep / "results"), "--reference", "paper",
                             "--methods", "dn2", "--format", "csv")
    assert "dn2,mvtec,headline,%,,86.5" in out and "fitymi" not in out


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it: apt-get install chromium)")
def test_the_report_renders_in_a_headless_browser_with_every_image(sweep, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(sweep / "cache"))
    report = tmp_path / "report.html"
    status, out, err = run_cli("report", "--results", str(sweep / "results"), "--out", str(report))
    assert status == 0, err
    html = report.read_text()
    for heading in ("Leaderboards", "Per normal class", "Near-distribution drop", "Significance", "Fake samples",
                    "Provenance"):
        assert f"<h2>{heading}</h2>" in html
    sources = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(sources) >= 6 and all(src.startswith("data:image/png;base64,") for src in sources)  # self-contained
    assert "FID/KID not measured" in html and "real training images" in html

    # the page as the browser sees it, with a probe that counts images that decoded
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", "<script>window.addEventListener('load', () => {"
                                  "const images = [...document.images];"
                                  "document.body.dataset.loaded = images.filter(i => i.complete && i.naturalWidth > 0).length"
                                  " + '/' + images.length; });</script></body>"))
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=10000"]
    dom = subprocess.run([*browser, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180).stdout
    loaded = re.search(r'data-loaded="(\d+)/(\d+)"', dom)
    assert loaded, dom[:500]
    assert loaded.group(1) == loaded.group(2) == str(len(sources))
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, "--window-size=1200,2400", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=180)
    picture = Image.open(shot).convert("L")
    assert picture.size == (1200, 2400) and len(set(picture.getdata())) > 20  # something was drawn


def test_report_needs_an_html_file_and_a_results_root(tmp_path):
    status, _, err = run_cli("report", "--results", str(tmp_path), "--out", str(tmp_path / "report.pdf"))
    assert status == 2 and "give a file ending in .html" in err
    status, _, err = run_cli("report", "--results", str(tmp_path / "none"))
    assert status == 2 and "no results root" in err


def test_a_published_value_is_compared_only_with_the_paper_profile(sweep, tmp_path):
    reference = tmp_path / "reference.csv"
    reference.write_text("method,dataset,metric,protocol,value,source,verified\n"
                         "dn2,digits,auroc,one-class digits,95.0,a test,yes\n")
    status, out, err = run_cli("table", "--results", str(sweep / "results"), "--reference", str(reference))
    assert status == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| dn2@smoke "))
    assert [cell.strip() for cell in row.strip("|").split("|")][3:5] == ["95.0", "—"]  # smoke numbers: no Δ
    assert "no Δ for 1 row(s) run with another profile than `paper`" in out
    reference.write_text("method,dataset,metric,protocol,value,source,verified\n"
                         "dn2,digits,auroc,one-class digits,0.95,a test,yes\n")
    status, _, err = run_cli("table", "--results", str(sweep / "results"), "--reference", str(reference))
    assert status == 2 and "looks like a fraction" in err
