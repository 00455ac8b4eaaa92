"""Shared fixtures: tiny data, throw-away registrations, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import threading

import numpy as np
import pytest

from bench import registry
from bench.cli import main as bench_main


@contextlib.contextmanager
def registered(reg: registry.Registry, name: str, cls: type, groups=()):
    """Register `cls` as `name` for the duration of a block."""
    reg.load()
    reg.register(name, groups=groups)(cls)
    try:
        yield cls
    finally:
        reg.unregister(name)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run `bench ARGV` in this process; return (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = bench_main(list(argv))
        except SystemExit as exit_:
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Feature caches and checkpoints of the tests go to a fresh folder, never the user's."""
    import os

    previous = os.environ.get("BENCH_CACHE")
    os.environ["BENCH_CACHE"] = str(tmp_path_factory.mktemp("bench-cache"))
    yield
    if previous is None:
        os.environ.pop("BENCH_CACHE", None)
    else:
        os.environ["BENCH_CACHE"] = previous


@pytest.fixture
def results(tmp_path):
    return tmp_path / "results"


@pytest.fixture
def shared_tmp():
    """A temporary folder other users can enter (pytest's own are private to their owner)."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="bench-shared-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def as_another_user(function):
    """`function()` run in a forked child as the user `nobody` (its groups dropped); returns
    its result. Skips the test unless this process is root (only root can become another
    user)."""
    import os
    import pickle
    import pwd

    if os.geteuid() != 0:
        pytest.skip("acting as another user needs root")
    nobody = pwd.getpwnam("nobody")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become nobody, run, send the result back, never return into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            payload = pickle.dumps((True, function()))
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            payload = pickle.dumps((False, f"{type(error).__name__}: {error}"))
        with os.fdopen(write, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as incoming:
        data = incoming.read()
    os.waitpid(pid, 0)
    succeeded, value = pickle.loads(data)
    assert succeeded, f"as user nobody: {value}"
    return value


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server over a temporary folder; yields (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def gated_method(tmp_path):
    """The `test-gated` method installed as a real plug-in (an entry point on `sys.path` and
    `PYTHONPATH`), so that pool workers and SLURM tasks find it too; yields its
    `tests.plugins.Gate`. Uninstalled afterwards."""
    from tests import plugins

    with pytest.MonkeyPatch.context() as patch:
        yield plugins.install(tmp_path / "plugins", patch)
    plugins.uninstall()


@pytest.fixture
def slurm_results(results):
    """A results root whose SLURM sweeps are cancelled when the test ends, passed or not."""
    from tests.cluster import cancel_sweeps

    yield results
    cancel_sweeps(results)
