"""CIFAR adapters and `bench data` on tiny files in the real on-disk format."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from bench import registry
from bench.context import RunContext
from bench.datafiles import Archive, safe_extract
from bench.errors import UserError
from bench.images import ArrayImages
from bench.datasets.cifar import CIFAR10_CLASSES, FINE_TO_COARSE
from tests.conftest import run_cli
from tests.tiny_data import checksums_of, write_cifar10, write_cifar100

CIFAR10 = registry.datasets.get("cifar10").factory
CIFAR100 = registry.datasets.get("cifar100").factory


@pytest.fixture
def cifar10_root(tmp_path, monkeypatch):
    folder = write_cifar10(tmp_path)
    monkeypatch.setattr(CIFAR10, "files", checksums_of(CIFAR10, folder))  # the fixture's own checksums
    return tmp_path


def test_cifar10_one_vs_all_split(cifar10_root):
    split = CIFAR10().split(3, RunContext(data_root=cifar10_root))
    assert split.sizes == {"train": 15, "test": 20, "test_normal": 2, "test_anomalous": 18}
    assert split.class_name == "cat"
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == sorted(set(CIFAR10_CLASSES) - {"cat"})
    assert np.asarray(split.train[0]).shape == (32, 32, 3)
    assert split.test.name == "cifar10/test" and split.train.name == "cifar10/train/c3"
    assert split.train.key == ArrayImages(np.stack([np.asarray(image) for image in split.train])).key  # the pixels


def test_cifar100_uses_the_standard_superclass_map(tmp_path, monkeypatch):
    folder = write_cifar100(tmp_path)
    monkeypatch.setattr(CIFAR100, "files", checksums_of(CIFAR100, folder))
    split = CIFAR100().split(0, RunContext(data_root=tmp_path))  # aquatic mammals: beaver, dolphin, otter, seal, whale
    assert split.sizes == {"train": 10, "test": 100, "test_normal": 5, "test_anomalous": 95}
    assert split.class_name == "aquatic_mammals"
    assert FINE_TO_COARSE[30] == 0 and FINE_TO_COARSE[31] == 11  # dolphin; elephant (CSI's table swaps them)
    assert FINE_TO_COARSE[25] == 6  # couch is furniture
    assert np.bincount(FINE_TO_COARSE).tolist() == [5] * 20


def test_checksum_mismatch_is_caught_before_anything_is_unpickled(tmp_path):
    folder = write_cifar10(tmp_path)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "data_batch_1").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(UserError, match=r"data_batch_1 \(corrupt\).*bench data fetch cifar10"):
        CIFAR10().split(0, RunContext(data_root=tmp_path))  # the real checksums: every fixture file is "corrupt"
    assert not marker.exists()


def test_truncated_and_missing_files_are_named(cifar10_root):
    folder = cifar10_root / "cifar-10-batches-py"
    data = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(data[: len(data) // 2])
    (folder / "batches.meta").unlink()
    with pytest.raises(UserError, match=r"test_batch \(corrupt\), batches.meta \(missing\)"):
        CIFAR10().split(0, RunContext(data_root=cifar10_root))


def tar_of(folder, archive, extra=None):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
        if extra:
            info = tarfile.TarInfo(extra)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    return archive


def serve_cifar10(tmp_path, monkeypatch, http_root):
    """Serve a tiny CIFAR-10 archive and point the adapter's checksums and URL at it."""
    served, url = http_root
    folder = write_cifar10(tmp_path / "made")
    monkeypatch.setattr(CIFAR10, "files", checksums_of(CIFAR10, folder))
    archive = tar_of(folder, served / "cifar-10-python.tar.gz")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR10, "archives", (Archive(f"{url}/cifar-10-python.tar.gz", md5=md5),))


def test_fetch_downloads_verifies_and_unpacks(tmp_path, monkeypatch, http_root):
    serve_cifar10(tmp_path, monkeypatch, http_root)
    data_root = tmp_path / "data"
    status, out, err = run_cli("data", "--data-root", str(data_root), "fetch", "cifar10", "--quiet")
    assert status == 0, err
    assert "cifar10: ready" in out
    assert CIFAR10().split(0, RunContext(data_root=data_root)).sizes["train"] == 15
    status, out, _ = run_cli("data", "--data-root", str(data_root), "verify", "cifar10")
    assert status == 0 and out.count("ok") == 7
    status, out, _ = run_cli("data", "--data-root", str(data_root), "list")
    assert "present" in next(line for line in out.splitlines() if line.startswith("cifar10"))

    archive = data_root / ".downloads" / "cifar-10-python.tar.gz"
    status, out, _ = run_cli("data", "--data-root", str(data_root), "clean", "--dry-run")
    assert status == 0 and f"would delete {archive}" in out and archive.exists()
    status, out, _ = run_cli("data", "--data-root", str(data_root), "clean")
    assert status == 0 and f"deleted {archive}" in out and "1 finished archive(s)" in out and not archive.exists()
    assert not CIFAR10().missing_files(data_root)  # the data stays
    status, out, _ = run_cli("data", "--data-root", str(data_root), "clean")
    assert status == 0 and "nothing to clean" in out


def test_data_list_reports_the_size_of_folder_datasets(tmp_path, monkeypatch):
    from tests.tiny_data import BUILDERS

    BUILDERS["mvtec"](tmp_path).apply(monkeypatch)
    size = sum(p.stat().st_size for p in (tmp_path / "mvtec").rglob("*") if p.is_file())
    status, out, _ = run_cli("data", "--data-root", str(tmp_path), "list")
    line = next(line for line in out.splitlines() if line.startswith("mvtec"))
    assert status == 0 and f"{size / 2**20:.1f} MiB" in line and size > 0


def test_output_cut_short_by_the_reader_is_no_traceback(tmp_path):
    import subprocess
    import sys

    seeds = ",".join(map(str, range(300)))  # tens of thousands of lines: far more than a pipe holds
    shell = (f"{sys.executable} -m bench run --dry-run --seeds {seeds} --results {tmp_path} | head -n 1; "
             f"{sys.executable} -m bench list methods | head -n 1")
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_fetch_refuses_a_wrong_archive(tmp_path, monkeypatch, http_root):
    served, url = http_root
    tar_of(write_cifar10(tmp_path / "made"), served / "cifar-10-python.tar.gz")
    monkeypatch.setattr(CIFAR10, "archives", (Archive(f"{url}/cifar-10-python.tar.gz", md5="0" * 32),))
    status, _, err = run_cli("data", "--data-root", str(tmp_path / "data"), "fetch", "cifar10", "--quiet")
    assert status == 2 and "md5" in err and "corrupt or not the right one" in err
    assert not (tmp_path / "data" / "cifar-10-batches-py").exists()


@pytest.mark.parametrize("member", ["../escape.txt", "/tmp/absolute-escape.txt", "a/../../escape.txt"])
def test_archive_members_outside_the_destination_are_refused(tmp_path, member):
    folder = write_cifar10(tmp_path / "made")
    archive = tar_of(folder, tmp_path / "evil.tar.gz", extra=member)
    destination = tmp_path / "data"
    destination.mkdir()
    with pytest.raises(UserError, match="would be written outside"):
        safe_extract(archive, destination)
    assert not (tmp_path / "escape.txt").exists() and not list(destination.iterdir())


def test_verify_reports_and_fails_on_bad_files(cifar10_root):
    (cifar10_root / "cifar-10-batches-py" / "data_batch_2").write_bytes(b"garbage")
    status, out, err = run_cli("data", "--data-root", str(cifar10_root), "verify", "cifar10")
    assert status == 1 and "corrupt" in out and "data_batch_2" in out and "1 problem(s) in cifar10: `bench data fetch cifar10` replaces" in err


def test_cifar10_vs_cifar100_has_one_anomaly_class_per_fine_class(tmp_path, monkeypatch):
    from bench.metrics import one_class_metrics

    c10, c100 = write_cifar10(tmp_path), write_cifar100(tmp_path)
    monkeypatch.setattr(CIFAR10, "files", checksums_of(CIFAR10, c10))
    monkeypatch.setattr(CIFAR100, "files", checksums_of(CIFAR100, c100))
    nnd = registry.datasets.get("cifar10-vs-cifar100").factory()
    assert not nnd.missing_files(tmp_path)
    split = nnd.split(2, RunContext(data_root=tmp_path))
    assert split.sizes == {"train": 15, "test": 2 + 100, "test_normal": 2, "test_anomalous": 100}
    assert len(set(split.anomaly_class[split.is_anomaly])) == 100  # each fine class alone
    scores = np.where(split.anomaly_class == "fine7", -1.0, np.arange(len(split.test), dtype=float))
    metrics = one_class_metrics(split.is_anomaly, scores, split.anomaly_class)
    assert metrics["auroc_per_class"]["fine7"] == 0.0  # the worst fine class is found
    assert min(metrics["auroc_per_class"].values()) == 0.0 and metrics["auroc"] > 0.9


def test_prepare_fetches_the_data_of_a_sweep(tmp_path, monkeypatch, http_root):
    serve_cifar10(tmp_path, monkeypatch, http_root)
    data_root = tmp_path / "data"
    status, out, err = run_cli("prepare", "--methods", "dn2", "--datasets", "cifar10", "--data-root",
                               str(data_root), "--quiet", "--dry-run")
    assert status == 0 and "would fetch dataset cifar10" in out and "by hand" not in out
    assert not data_root.exists()  # a dry run fetches nothing
    status, out, err = run_cli("prepare", "--methods", "dn2", "--datasets", "cifar10", "--data-root",
                               str(data_root), "--quiet")
    assert status == 0, err
    assert "1 weight file(s) and dataset(s) fetched; 0 to place by hand; 0 could not be fetched" in out
    assert not CIFAR10().missing_files(data_root)


def test_prepare_offline_lists_everything_it_could_not_fetch_and_fails_once_at_the_end(tmp_path, monkeypatch, http_root):
    _, base = http_root  # serves nothing: every download fails, as offline
    for name in ("cifar10", "cifar100"):
        cls = registry.datasets.get(name).factory
        monkeypatch.setattr(cls, "archives", tuple(Archive(f"{base}/{a.filename}", md5=a.md5) for a in cls.archives))
    status, out, err = run_cli("prepare", "--methods", "dn2", "--datasets", "cifar10,cifar100", "--quiet",
                               "--data-root", str(tmp_path / "data"))
    assert status == 1 and "0 weight file(s) and dataset(s) fetched; 0 to place by hand; 2 could not be fetched" in out
    failed = [line for line in err.splitlines() if line.startswith("bench prepare: could not fetch")]
    assert len(failed) == 2 and "dataset cifar10: could not download cifar-10-python.tar.gz" in failed[0]
    assert "dataset cifar100: could not download cifar-100-python.tar.gz" in failed[1]


def test_data_list_reports_present_and_corrupt(cifar10_root):
    status, out, _ = run_cli("data", "--data-root", str(cifar10_root), "list")
    assert status == 0 and "present" in next(line for line in out.splitlines() if line.startswith("cifar10 "))
    (cifar10_root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"x")
    status, out, _ = run_cli("data", "--data-root", str(cifar10_root), "list")
    assert "corrupt" in next(line for line in out.splitlines() if line.startswith("cifar10 "))
    assert "missing" in next(line for line in out.splitlines() if line.startswith("cifar100 "))
