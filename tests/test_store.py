import json
import os
import signal
import subprocess
import sys
import time

from bench.cell import Cell
from bench.store import Store


def record_for(cell: Cell, status="ok", **extra) -> dict:
    return {"schema": 1, "cell": cell.to_dict(), "status": status, **extra}


CELL = Cell(method="dn2", dataset="digits", normal_class=3, seed=1, profile="smoke", method_params={"k": 2})


def test_write_read_and_layout(tmp_path):
    store = Store(tmp_path)
    path = store.write(record_for(CELL, metrics={"auroc": 0.9}))
    assert path == tmp_path / f"{CELL.key}.json"
    assert path.relative_to(tmp_path).parts[:2] == ("digits", "dn2")
    assert store.read(CELL.key)["metrics"]["auroc"] == 0.9
    assert store.is_done(CELL)
    assert [r["cell"]["key"] for r in store.records()] == [CELL.key]


def test_failed_record_is_not_done(tmp_path):
    store = Store(tmp_path)
    store.write(record_for(CELL, status="failed"))
    assert not store.is_done(CELL)


def test_records_skip_temporary_and_foreign_json(tmp_path):
    store = Store(tmp_path)
    store.write(record_for(CELL))
    (tmp_path / "digits" / ".half.json.123.tmp").write_text('{"cell": ')
    (tmp_path / "notes.json").write_text('{"anything": 1}')
    (tmp_path / "broken.json").write_text("{")
    assert len(list(store.records())) == 1


WRITER = """
import sys
from bench.cell import Cell
from bench.store import Store
cell = Cell(method="dn2", dataset="digits", normal_class=3, seed=1, profile="smoke", method_params={"k": 2})
huge = list(range(3_000_000))  # seconds of JSON encoding: time to be killed mid-write
print("writing", flush=True)
Store(sys.argv[1]).write({"schema": 1, "cell": cell.to_dict(), "status": "ok", "payload": huge})
"""


def _kill_mid_write(root) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    folder = root / "digits" / "dn2"
    deadline = time.time() + 30
    while time.time() < deadline and not any(folder.rglob(".*.tmp")):
        time.sleep(0.005)
    assert any(folder.rglob(".*.tmp")), "the writer never started its temporary file"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


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
