"""`bench report`: one self-contained HTML page about a results root.

Sections: the leaderboard for each metric (with coverage † and staleness ‡ marks and their
notes), per-class bars for each dataset, the near-distribution drop (each method's mean on
standard sets against its mean on near-distribution sets: FITYMI's thesis at a glance), the
critical-difference diagram, the cached fake banks of each generator beside the real images
they learned from (with FID and KID where they were measured), and a provenance summary
(versions, commits, devices, hosts, compute time). Every figure is a PNG embedded as a data
URI, so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.metrics import LABELS
from bench.timestamps import utc_now

LEADERBOARD_METRICS = ("headline", "auroc", "aupr", "fpr95-anomaly-positive", "fpr95-normal-positive")
BANKS_PER_GENERATOR = 3
QUALITY_KEYS = ("fid", "kid")  # a fake bank's JSON may hold its measured quality under these names

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; } .notes, .lines { font-size: 0.85em; color: #444; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #444; }
.pair { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
.pair img { image-rendering: pixelated; max-width: 34em; }
table.provenance td, table.provenance th { text-align: left; padding: 2px 10px; vertical-align: top; }
"""


@dataclass
class Report:
    """What goes on the page, section by section (HTML fragments)."""

    title: str
    sections: list[tuple[str, str]] = field(default_factory=list)

    def add(self, heading: str, body: str) -> None:
        self.sections.append((heading, body))

    def html(self) -> str:
        parts = "".join(f"<section><h2>{html.escape(h)}</h2>\n{body}</section>\n" for h, body in self.sections)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(self.title)}"
                f"</title><style>{STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>\n{parts}</body></html>\n")


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def figure(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{image(png, alt)}<figcaption>{html.escape(caption)}</figcaption></figure>\n"


def paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>\n"


def _leaderboards(report: Report, frame, stale) -> None:
    from bench.table import render

    body = ""
    for metric in LEADERBOARD_METRICS:
        text = render(frame, metric, "html", stale=stale)
        if text:
            body += f"<h3>{html.escape(metric)}</h3>\n{text}"
    report.add("Leaderboards", body or paragraph("No successful records."))


def _per_class(report: Report, frame, stale) -> None:
    from bench import plots
    from bench.table import leaderboard, summary

    board = leaderboard(frame, "headline", stale=stale)
    if board.empty:
        return
    order = list(board.values.index)
    tidy = summary(frame, "headline", by_class=True, stale=stale)
    body = ""
    for dataset in dict.fromkeys(tidy.dataset):
        methods = [m for m in order if m in set(tidy[tidy.dataset == dataset].method)][: plots.MAX_BARS_METHODS]
        label = "headline metric" if len(set(tidy[tidy.dataset == dataset].metric)) > 1 else \
            LABELS.get(tidy[tidy.dataset == dataset].metric.iloc[0], "value")
        note = f"; the {len(methods)} best-ranked methods" if len(order) > len(methods) else ""
        body += figure(plots.per_class_bars(tidy, dataset, label, methods), f"{dataset} per class",
                       f"{dataset}: {label} in % per normal class, mean over seeds{note}.")
    report.add("Per normal class", body)


def near_points(frame, stale=()):
    """Per method (label): the mean of its headline entries over standard datasets and over
    near-distribution datasets (registry group `near`); only methods with both."""
    import pandas as pd

    from bench import registry
    from bench.table import summary

    tidy = summary(frame, "headline", stale=stale)
    if tidy.empty:
        return pd.DataFrame(columns=["method", "standard", "near"])

    def is_near(label: str) -> bool:
        name = label.split("#")[0]
        return name in registry.datasets and "near" in registry.datasets.get(name).groups

    tidy["near"] = tidy.dataset.map(is_near)
    means = tidy.groupby(["method", "near"])["mean"].mean().unstack()
    if True not in means.columns or False not in means.columns:
        return pd.DataFrame(columns=["method", "standard", "near"])
    points = means.rename(columns={False: "standard", True: "near"})[["standard", "near"]].dropna()
    return points.reset_index()


def _near_drop(report: Report, frame, stale) -> None:
    from bench import plots

    points = near_points(frame, stale)
    if points.empty:
        report.add("Near-distribution drop", paragraph(
            "No method has records on both standard and near-distribution sets (group `near`): "
            "run `bench run --datasets near` too."))
        return
    caption = ("Each method's headline metric, averaged over the standard sets it has (blue) and over the "
               "near-distribution sets it has (red); the longer the line, the more it loses when anomalies "
               "are subtle.")
    report.add("Near-distribution drop", figure(plots.near_drop(points, "headline metric"), "near-distribution drop", caption))


def _significance(report: Report, frame) -> None:
    from bench import plots
    from bench.errors import UserError
    from bench.stats import compare

    try:
        comparison = compare(frame, "headline")
    except UserError as error:
        report.add("Significance", paragraph(f"No critical-difference diagram: {error}."))
        return
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in comparison.lines())
    diagram = plots.png(comparison.diagram())
    report.add("Significance", figure(diagram, "critical-difference diagram",
                                      "Critical-difference diagram (Friedman, then Nemenyi) on the headline metric.")
               + f'<ul class="lines">{lines}</ul>\n')


def fake_banks(cache_dir: Path | None) -> dict[str, list[dict]]:
    """Generator → its cached banks (newest first): the JSON beside each bank, with `grid`
    and `real` (the PNG grids of fakes and of the real training images, where present)."""
    banks: dict[str, list[dict]] = {}
    folder = Path(cache_dir) / "fakes" if cache_dir is not None else None
    if folder is None or not folder.is_dir():
        return banks
    for path in sorted(folder.rglob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or "generator" not in info:
            continue
        grid, real = path.with_suffix(".png"), path.with_suffix(".real.png")
        info.update(grid=grid if grid.is_file() else None, real=real if real.is_file() else None,
                    folder=path.parent.name, file=path.with_suffix(".npy").name)
        banks.setdefault(info["generator"], []).append(info)
    return banks


def _fakes(report: Report, cache_dir: Path | None) -> None:
    banks = fake_banks(cache_dir)
    if not banks:
        report.add("Fake samples", paragraph(f"No fake bank is cached under {cache_dir}/fakes."))
        return
    body = ""
    for generator, infos in sorted(banks.items()):
        body += f"<h3>{html.escape(generator)}</h3>\n"
        for info in infos[:BANKS_PER_GENERATOR]:
            quality = [f"{key.upper()} {info[key]:.3g}" for key in QUALITY_KEYS if isinstance(info.get(key), (int, float))]
            about = (f"{info['folder']}: {info.get('n', '?')} fakes, seed {info.get('seed', '?')}, stream "
                     f"{info.get('stream', '?')}; " + ("; ".join(quality) if quality else "FID/KID not measured"))
            pictures = "".join(
                f"<figure>{image(Path(p).read_bytes(), what)}<figcaption>{html.escape(what)}</figcaption></figure>"
                for p, what in ((info["grid"], "fakes"), (info["real"], "real training images")) if p is not None
            )
            body += f"<div class=\"pair\">{pictures}</div>\n" + paragraph(about)
    report.add("Fake samples", body)


def provenance_rows(records: list[dict]) -> list[tuple[str, str]]:
    """(what, summary) rows: versions, commits, devices, hosts, compute time, dates."""
    def counted(values) -> str:
        counts = Counter(v for v in values if v not in (None, ""))
        return ", ".join(f"{value} ({n})" for value, n in counts.most_common()) or "—"

    provenance = [r.get("provenance") or {} for r in records]
    packages = sorted({name for p in provenance for name in (p.get("packages") or {})})
    seconds = Counter()
    for record, p in zip(records, provenance):
        seconds[p.get("device_name") or p.get("device") or "?"] += (record.get("timings") or {}).get("total_s", 0.0)
    commits = [f"{(p.get('git_commit') or 'no git')[:10]}{' (dirty)' if p.get('git_dirty') else ''}" for p in provenance]
    started = sorted(r["started_at"] for r in records if r.get("started_at"))
    finished = sorted(r["finished_at"] for r in records if r.get("finished_at"))
    rows = [("records", f"{len(records)}"), ("git commits", counted(commits))]
    rows += [(name, counted((p.get("packages") or {}).get(name) for p in provenance)) for name in packages]
    rows += [
        ("python", counted(p.get("python") for p in provenance)),
        ("devices", counted(p.get("device_name") or p.get("device") for p in provenance)),
        ("hosts", counted(p.get("host") for p in provenance)),
        ("compute time", ", ".join(f"{device}: {s / 3600:.2f} h" for device, s in seconds.most_common())),
        ("SLURM jobs", counted(p.get("slurm_job_id") for p in provenance)),
        ("made", f"{started[0]} to {finished[-1]}" if started and finished else "—"),
    ]
    return rows


def build(results_root: Path, *, data_root: Path, cache_dir: Path | None, title: str | None = None) -> str:
    """The report of every record under `results_root`, as one HTML document."""
    from bench.staleness import check_records
    from bench.store import Store
    from bench.table import long_frame

    scan = Store(results_root).scan()
    records = scan.records
    verdicts = check_records(records, data_root=data_root, cache_dir=cache_dir)
    frame = long_frame(records)
    report = Report(title or f"nearbench report: {results_root}")
    failed = sum(r.get("status") != "ok" for r in records)
    summary = (f"{len(records)} records under {results_root} ({failed} failed, {len(verdicts.stale)} stale, "
               f"{len(verdicts.unchecked)} not checkable here), made into this report at {utc_now()}.")
    warnings = [w for w in (scan.warning(),) if w]
    if verdicts.unchecked:
        warnings.append(f"{len(verdicts.unchecked)} record(s) could not be checked for staleness: "
                        f"{verdicts.unchecked_summary()}")
    report.add("Summary", paragraph(summary) + "".join(paragraph(w) for w in warnings))
    _leaderboards(report, frame, verdicts.stale)
    _per_class(report, frame, verdicts.stale)
    _near_drop(report, frame, verdicts.stale)
    _significance(report, frame)
    _fakes(report, cache_dir)
    rows = "".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>" for a, b in provenance_rows(records))
    report.add("Provenance", f'<table class="provenance">{rows}</table>\n')
    return report.html()
