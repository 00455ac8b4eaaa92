"""The code a run uses: git state of a checkout, and snapshots that jobs import from."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.code import MARKER, CodeState, git_state, package_dirs, snapshot, tree_sha256


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "checkout"
    (repo / "bench").mkdir(parents=True)
    (repo / "bench" / "core.py").write_text("x = 1\n")
    (repo / "notes.txt").write_text("not code\n")
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    return repo


def test_git_state_sees_changed_and_untracked_sources_only(repo):
    clean = git_state(repo)
    assert len(clean.commit) == 40 and clean.dirty == [] and clean.is_dirty is False
    (repo / "notes.txt").write_text("edited, but not code\n")
    assert git_state(repo).dirty == []
    (repo / "bench" / "core.py").write_text("x = 2\n")
    (repo / "bench" / "new.py").write_text("y = 1\n")
    assert git_state(repo).dirty == ["bench/core.py", "bench/new.py"]


def test_a_folder_inside_another_repository_has_no_commit_of_its_own(repo):
    assert git_state(repo / "bench") == CodeState(commit=None, dirty=[])
    assert git_state(repo / "bench").is_dirty is None


def test_snapshot_holds_the_packages_in_their_import_layout_and_is_reused(tmp_path):
    state = CodeState(commit="c0ffee" * 6 + "abcd", dirty=["bench/x.py"])
    first, frozen = snapshot(tmp_path / "code", state)
    again, _ = snapshot(tmp_path / "code", state)
    assert again == first and len(list((tmp_path / "code").iterdir())) == 1
    dirs = package_dirs()
    for name, source in dirs.items():
        target = first / Path(*name.split("."))
        originals = sorted(p.relative_to(source) for p in source.rglob("*.py") if "__pycache__" not in p.parts)
        assert originals and all((target / rel).read_bytes() == (source / rel).read_bytes() for rel in originals)
    marker = json.loads((first / MARKER).read_text())
    assert marker == {"commit": state.commit, "dirty": ["bench/x.py"], "sha256": tree_sha256(first)}
    assert frozen.sha256 == marker["sha256"] and first.name == f"{state.commit[:10]}-{frozen.sha256[:12]}"


def test_a_job_started_in_the_snapshot_imports_nearbench_from_it(tmp_path):
    code_dir, frozen = snapshot(tmp_path / "code", CodeState(commit=None, dirty=[]))
    probe = (
        "import json, bench, bench.methods, bench.datasets, bench.executors.slurm.task\n"
        "from bench.provenance import static_provenance\n"
        "p = static_provenance()\n"
        "print(json.dumps([bench.__file__, bench.methods.__file__, bench.datasets.__file__, p['code_dir'], p['code_sha256']]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=code_dir, env=env, capture_output=True, text=True, timeout=300, check=True)
    *files, code, sha = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(Path(f).is_relative_to(code_dir) for f in files), files
    assert code == str(code_dir) and sha == frozen.sha256
