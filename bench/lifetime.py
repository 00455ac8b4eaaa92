"""Worker processes that cannot outlive the process that started them.

A pool worker whose parent was killed (SIGKILL leaves no time to clean up) would go on
running cells, write records nobody waits for, and then idle forever holding its memory.
`die_with_parent()`, called first thing in the worker, prevents that twice over: on Linux the
kernel sends the worker SIGKILL the moment its parent dies (`prctl(PR_SET_PDEATHSIG)`), and
everywhere a daemon thread ends the worker within a second of seeing it re-parented.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_S = 1.0


def die_with_parent() -> None:
    """Make this process end when its parent does (see the module docstring)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="die-with-parent", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os._exit(1)


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, from its exit code (negative: killed by that signal).

    >>> describe_exit(-9)
    'killed by SIGKILL — out of memory?'
    >>> describe_exit(3)
    'exited with status 3'
    """
    if exitcode is None:
        return "ended without an exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " — out of memory?" if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exited with status {exitcode}"
