"""Cell claims: overlapping `bench run`s over one results root execute each cell once, and a
claim whose holder died is free again."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from bench.claims import claimed
from bench.store import Store
from tests.plugins import METHOD


def test_four_overlapping_runs_execute_each_cell_once(gated_method, tmp_path):
    gate = gated_method
    results = tmp_path / "results"
    cells = [f"{c}-{s}" for c in range(10) for s in range(3)]
    for name in cells:  # every gate open: the cells run as fast as they can, in all four runs at once
        (gate.folder / name).touch()
    command = [sys.executable, "-m", "bench", "run", "--methods", METHOD, "--seeds", "0,1,2", "--executor", "inline",
               "--quiet", "--set", gate.setting, "--results", str(results)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
            for _ in range(4)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    starts = {name: len((gate.folder / f"started-{name}").read_text().splitlines()) for name in cells}
    assert sum(starts.values()) == 30 and set(starts.values()) == {1}, starts  # each cell ran once, in one run
    done = [int(re.search(r"(\d+) done", out).group(1)) for out, _ in outputs]
    assert sum(done) == 30  # every run counted only the cells it ran itself
    records = list(Store(results).records())
    assert len(records) == 30 and all(r["status"] == "ok" for r in records)


def test_a_claim_is_exclusive_across_processes_and_freed_when_its_holder_dies(tmp_path):
    hold = ("import sys, time; from bench.claims import claimed\n"
            "with claimed(sys.argv[1], 'digits/dn2/x/c0-s0') as mine:\n"
            "    print(mine, flush=True); time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        with claimed(tmp_path, "digits/dn2/x/c0-s0") as mine:
            assert not mine  # held by the other process
        with claimed(tmp_path, "digits/dn2/x/c1-s0") as mine:
            assert mine  # another cell's claim is free
    finally:
        holder.kill()  # SIGKILL: no release, no cleanup
        holder.wait()
    with claimed(tmp_path, "digits/dn2/x/c0-s0") as mine:
        assert mine  # the dead holder's claim is free at once
