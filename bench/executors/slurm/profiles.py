"""Named cluster profiles: `--cluster NAME` picks a table of SLURM options from a TOML file.

Files read, later ones overriding earlier ones profile by profile: the user's
`~/.config/nearbench/clusters.toml`, then the project's `./nearbench-clusters.toml`;
`$BENCH_CLUSTERS` names one file to read instead of both. Each top-level table is a profile
whose keys are `bench run`'s SLURM option names:

    [gpu]
    partition = "gpu"
    account = "my-lab"
    gpus-per-node = 1
    cpus-per-task = 8
    mem = "32G"
    time = "4:00:00"
    sbatch = { mail-type = "FAIL" }
    setup = ["module load cuda/12.1"]

A profile named `default` applies to `--executor slurm` when no `--cluster` is given.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

from bench.errors import UserError
from bench.executors.slurm.options import SlurmOptions

PROJECT_FILE = "nearbench-clusters.toml"
DEFAULT = "default"


def profile_files() -> list[Path]:
    if os.environ.get("BENCH_CLUSTERS"):
        return [Path(os.environ["BENCH_CLUSTERS"]).expanduser()]
    from platformdirs import user_config_dir

    return [Path(user_config_dir("nearbench", appauthor=False)) / "clusters.toml", Path(PROJECT_FILE)]


def _read(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML ({error}); fix the file") from None


def load_profiles() -> dict[str, tuple[dict, Path]]:
    """Profile name → (its table, the file it came from), from every file that exists."""
    profiles: dict[str, tuple[dict, Path]] = {}
    for path in profile_files():
        if path.is_file():
            for name, table in _read(path).items():
                if not isinstance(table, dict):
                    raise UserError(f"{path}: {name!r} is not a table; write [{name}] above its keys")
                profiles[name] = (table, path)
    return profiles


def cluster_options(name: str | None) -> SlurmOptions:
    """The options of profile `name`; with no name, the `default` profile or nothing."""
    profiles = load_profiles()
    if name is None:
        if DEFAULT not in profiles:
            return SlurmOptions()
        name = DEFAULT
    if name not in profiles:
        files = " or ".join(str(p) for p in profile_files())
        close = difflib.get_close_matches(name, list(profiles), n=3)
        known = f"did you mean {', '.join(close)}? " if close else (f"known: {', '.join(sorted(profiles))}; " if profiles else "")
        raise UserError(f"--cluster {name}: no such profile in {files} ({known}add a [{name}] table)")
    table, path = profiles[name]
    return SlurmOptions.build(table, where=f"--cluster {name} ({path})")
