"""nearbench: a benchmark harness for one-class image novelty detection.

The Python API, for notebooks (`bench.api`; imported on first use, so `import bench` stays
light — no torch, no pandas):

    import bench
    df = bench.run(methods="dn2,pyod-knn", datasets="digits", classes=[0, 1], seeds=[0])
    bench.leaderboard(df)        # the leaderboard as a DataFrame
    bench.records("results")     # every record under a results root, one tidy row per metric

A mistake raises `bench.UserError` with the message the command line prints.
"""

import importlib

__version__ = "0.1.0"
__all__ = ["run", "leaderboard", "records", "UserError"]


def __getattr__(name: str):
    if name in ("run", "leaderboard"):
        return getattr(importlib.import_module("bench.api"), name)
    if name == "records":  # the module bench.records, callable as bench.api.records (see there)
        return importlib.import_module("bench.records")
    if name == "UserError":
        from bench.errors import UserError

        return UserError
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
