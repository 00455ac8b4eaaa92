"""What a dataset adapter needs on disk, and how it gets there: declared files with their
checksums, archives to download (unpacked by `bench.extract`, which refuses members escaping
the destination), and verification before anything is unpickled."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.digest import file_digest
from bench.download import download
from bench.errors import UserError
from bench.extract import safe_extract

MISSING, CORRUPT, OK = "missing", "corrupt", "ok"
DOWNLOADS = ".downloads"  # finished archives, under the data root (`bench data clean` removes them)
SMALL_FILE = 256 * 2**20  # checksummed at plan time up to this size (CIFAR's batches: 31 MB each)


@dataclass(frozen=True)
class DataFile:
    """A file relative to the benchmark's data folder, with its published checksum."""

    path: str
    md5: str | None = None
    sha256: str | None = None
    normal_class: int | None = None  # needed only when this class is normal (None: always)

    def status(self, folder: Path) -> str:
        target = folder / self.path
        if not target.exists():
            return MISSING
        for algorithm in ("md5", "sha256"):
            expected = getattr(self, algorithm)
            if expected and file_digest(target, algorithm) != expected:
                return CORRUPT
        return OK


@dataclass(frozen=True)
class Archive:
    """A download providing some of a benchmark's files: a tar archive unpacked into
    `destination` (a folder under the data root; "" = the root), or a single file placed there."""

    url: str
    md5: str | None = None
    sha256: str | None = None
    destination: str = ""
    mirrors: tuple[str, ...] = ()  # tried in order when `url` fails; every copy is checksum-verified
    strip: int = 0  # leading folders of every member to drop (GitHub's `<repo>-<commit>/`)

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def is_tar(self) -> bool:
        return self.filename.endswith((".tar", ".tar.gz", ".tgz", ".tar.xz"))

    def install(self, root: Path, progress: bool = True) -> None:
        """Download (verified; an archive without a published checksum — GitHub's archive of
        a pinned commit — is verified through the files it provides), and unpack a tar
        archive into `root`."""
        folder = Path(root) / (DOWNLOADS if self.is_tar else self.destination)
        algorithm = "md5" if self.md5 else "sha256"
        path = download(
            [self.url, *self.mirrors], folder / self.filename, algorithm=algorithm, expected=self.md5 or self.sha256,
            progress=progress,
        )
        if self.is_tar:
            (Path(root) / self.destination).mkdir(parents=True, exist_ok=True)
            safe_extract(path, Path(root) / self.destination, strip=self.strip)


def check_files(name: str, folder: Path, files) -> None:
    """Raise one UserError naming every missing or corrupt file (run before unpickling)."""
    problems = [(f.path, f.status(folder)) for f in files]
    bad = [(path, status) for path, status in problems if status != OK]
    if bad:
        listing = ", ".join(f"{path} ({status})" for path, status in bad[:4])
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        raise UserError(
            f"dataset {name}: {listing}{more} in {folder}; run `bench data fetch {name}` "
            f"(or `bench data verify {name}` for a full report)"
        )


def fetch_benchmark(benchmark, root: Path, progress: bool = True) -> bool:
    """Download and unpack a benchmark's archives and verify its files; False when files
    remain that only the user can place (see its `fetch_hint`): none of them downloads, or
    the downloads provide part of them (Stanford Cars: devkit and test labels, not images)."""
    for archive in benchmark.archives:
        archive.install(root, progress=progress)
    if benchmark.missing_files(root) and benchmark.fetch_hint:
        return False
    benchmark.check(root)
    return True


def manual_steps(benchmark, root: Path) -> str:
    """The steps for the files of `benchmark` that only the user can place, with the data
    root filled in, and which files are still missing."""
    from bench.inputs import with_root

    folder = benchmark.data_dir(root)
    missing = [str(path.relative_to(folder)) for path in benchmark.missing_files(root)]
    lead = "the rest by hand" if benchmark.archives else "no download exists"
    still = f"still missing under {folder}: {', '.join(missing)}" if missing else f"expected under {folder}"
    return f"{benchmark.name}: {lead}: {with_root(benchmark.fetch_hint, root)} ({still})"
