import json
import os
import signal
import subprocess
import sys

from bench.cell import Cell
from bench.store import Store


METRICS = {"auroc": 0.9, "aupr": 0.8, "fpr95": 0.1, "auroc_per_class": {}}


def record_for(cell: Cell, status="ok", **extra) -> dict:
    return {"schema": 2, "cell": cell.to_dict(), "status": status, **({"metrics": METRICS} if status == "ok" else {}),
            **extra}


CELL = Cell(method="dn2", dataset="digits", normal_class=3, seed=1, profile="smoke", method_params={"k": 2})


def test_write_read_and_layout(tmp_path):
    store = Store(tmp_path)
    path = store.write(record_for(CELL))
    assert path == tmp_path / f"{CELL.key}.json"
    assert path.relative_to(tmp_path).parts[:2] == ("digits", "dn2")
    assert store.read(CELL.key)["metrics"]["auroc"] == 0.9
    assert store.is_done(CELL)
    assert [r["cell"]["key"] for r in store.records()] == [CELL.key]


def test_failed_record_is_not_done(tmp_path):
    store = Store(tmp_path)
    store.write(record_for(CELL, status="failed"))
    assert not store.is_done(CELL)


def test_a_scan_names_every_json_file_that_is_not_a_record(tmp_path):
    store = Store(tmp_path)
    store.write(record_for(CELL))
    (tmp_path / "digits" / ".c3-s1.json.123.tmp").write_text('{"cell": ')  # a writer's temporary: not reported
    (tmp_path / "sweeps" / "abc").mkdir(parents=True)
    (tmp_path / "sweeps" / "abc" / "sweep.json").write_text('{"id": "abc"}')  # SLURM bookkeeping: not reported
    (tmp_path / "notes.json").write_text('{"anything": 1}')
    (tmp_path / "truncated.json").write_text(store.path(CELL.key).read_text()[:40])
    (tmp_path / "latin1.json").write_bytes('{"cell": "é"}'.encode("latin-1"))
    (tmp_path / "nometrics.json").write_text(json.dumps({**record_for(CELL), "metrics": None}))
    scan = store.scan()
    assert [r["cell"]["key"] for r in scan.records] == [CELL.key]
    assert {u.path.name: u.why for u in scan.unusable} == {
        "notes.json": "not a nearbench record (no cell and status)",
        "truncated.json": "truncated JSON (the file ends mid-record)",
        "latin1.json": "not UTF-8 text (byte 10)",
        "nometrics.json": "a successful record without metrics (auroc, aupr)",
    }
    warning = scan.warning(shown=2)
    assert warning.startswith(f"warning: 4 file(s) under {tmp_path} are not readable records and were left out: ")
    assert "; and 2 more" in warning
    assert len(list(store.records())) == 1


def test_an_unreadable_record_is_reported_not_dropped(shared_tmp):
    from tests.conftest import as_another_user

    store = Store(shared_tmp / "results")
    store.write(record_for(CELL))
    other = Cell(method="dn2", dataset="digits", normal_class=4, seed=1, profile="smoke")
    os.chmod(store.write(record_for(other)), 0o600)  # another user's umask 077
    scan = as_another_user(store.scan)
    assert [r["cell"]["key"] for r in scan.records] == [CELL.key]
    assert [(u.path, u.why) for u in scan.unusable] == [
        (store.path(other.key), "permission denied: its owner can `chmod a+r` it")
    ]


WRITER = """
import sys
from bench.cell import Cell
from bench.store import Store


class Stalling(dict):
    # JSON encoding asks a dict for its items as it writes them: these say when the writer is
    # half-way through the record, then wait until the test kills the process.
    def items(self):
        yield from dict.items(self)
        print("mid-write", flush=True)
        sys.stdin.read()  # never returns: the test keeps stdin open until it has killed us
        yield "never", "written"


cell = Cell(method="dn2", dataset="digits", normal_class=3, seed=1, profile="smoke", method_params={"k": 2})
payload = Stalling({str(i): "x" * 100 for i in range(10_000)})  # a megabyte before the stall
Store(sys.argv[1]).write({"schema": 1, "cell": cell.to_dict(), "status": "ok", "payload": payload})
"""


def _kill_mid_write(root) -> None:
    """Kill a writer that is half-way through writing CELL's record (it waits there for us)."""
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "mid-write"
        folder = root / "digits" / "dn2"
        (temporary,) = [path for path in folder.rglob(".*.tmp")]  # the record's temporary file, mid-write
        assert temporary.stat().st_size > 0  # part of the record already went to it
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL


def test_killed_writer_leaves_no_partial_record(tmp_path):
    _kill_mid_write(tmp_path)
    store = Store(tmp_path)
    assert not store.path(CELL.key).exists()
    assert store.read(CELL.key) is None and not store.is_done(CELL)
    assert list(store.records()) == []


def test_killed_rewrite_keeps_the_old_record_whole(tmp_path):
    store = Store(tmp_path)
    store.write(record_for(CELL, metrics={"auroc": 0.5}))
    _kill_mid_write(tmp_path)
    assert json.loads(store.path(CELL.key).read_text())["metrics"]["auroc"] == 0.5


def test_a_copied_or_moved_record_is_named_never_counted_twice(tmp_path):
    store = Store(tmp_path)
    original = store.write(record_for(CELL))
    copy = original.with_name("copy-of-c3.json")
    copy.write_bytes(original.read_bytes())
    elsewhere = tmp_path / "digits" / "dn2" / "other" / "c0-s0.json"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(original.read_bytes())
    scan = store.scan()
    assert [r["cell"]["key"] for r in scan.records] == [CELL.key]
    assert {u.path for u in scan.unusable} == {copy, elsewhere}
    assert all(f"belongs at <results root>/{CELL.key}.json" in u.why for u in scan.unusable)


def test_one_cell_in_two_results_roots_below_the_scanned_one_is_counted_once(tmp_path):
    older = Store(tmp_path / "exp1").write(record_for(CELL, finished_at="2026-01-01T00:00:00Z"))
    newer = Store(tmp_path / "exp2").write(record_for(CELL, finished_at="2026-02-01T00:00:00Z"))
    Store(tmp_path / "exp3").write(record_for(CELL, status="failed", finished_at="2026-03-01T00:00:00Z"))
    scan = Store(tmp_path).scan()
    assert [r["finished_at"] for r in scan.records] == ["2026-02-01T00:00:00Z"]  # successful, then newest
    assert len(scan.unusable) == 2 and all(f"is counted ({newer})" in u.why for u in scan.unusable)
    assert older in {u.path for u in scan.unusable}


def test_records_with_mistyped_cells_or_metrics_outside_0_1_are_named():
    import pytest

    from bench.store import NotARecord, parse_record

    good = record_for(CELL)
    with pytest.raises(NotARecord, match="its cell's seed is of the wrong type"):
        parse_record(json.dumps({**good, "cell": {**good["cell"], "seed": "x"}}).encode())
    for value in (1.5, -0.1, float("nan")):
        with pytest.raises(NotARecord, match="is not a fraction in \\[0, 1\\]"):
            parse_record(json.dumps({**good, "metrics": {**METRICS, "auroc": value}}).encode())
