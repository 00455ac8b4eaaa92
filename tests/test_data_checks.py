"""From nothing to verified data in one pass: every missing input of a sweep listed at once,
and present data that cannot be used (layout mistakes, empty folders, protocol parameters
that contradict the data) refused before the first cell, with the command that fixes it."""

from __future__ import annotations

import shutil

from tests.conftest import run_cli
from tests.tiny_data import BUILDERS


def lines_of(err: str) -> list[str]:
    return err.strip().splitlines()


def test_a_paper_dry_run_with_no_data_and_no_weights_lists_everything_missing_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    data = tmp_path / "data"
    status, out, err = run_cli("run", "--dry-run", "--profile", "paper", "--methods", "dn2,panda,fitymi-bank",
                               "--datasets", "cifar10,mvtec,cifar10-fsde", "--data-root", str(data),
                               "--results", str(tmp_path / "results"))
    lines = lines_of(err)
    assert status == 2 and out == ""
    assert lines[0] == "bench run: error: 6 inputs of this sweep are missing or unusable:"
    body = "\n".join(lines[1:])
    assert len(lines) == 7 and all(line.startswith("  - ") for line in lines[1:])
    assert "dataset cifar10: missing data_batch_1" in body and "`bench data fetch cifar10`" in body
    assert "dataset mvtec: missing" in body and "`bench data fetch mvtec`" in body
    assert f"save the .npy as {data}/fitymi/cifar10_fsde.npy" in body and "<data root>" not in body
    assert "pretrained weights resnet152 (IMAGENET1K_V1) for dn2, panda not found" in body and "bench prepare" in body
    assert "pretrained weights timm:vit_base_patch16_224.orig_in21k (pretrained) for fitymi-bank not found" in body
    assert "fake bank" in body and "--set fitymi-bank.bank_path=PATH" in body
    assert not (tmp_path / "results").exists()


def test_a_nested_cars_layout_is_refused_at_plan_time_with_the_mv_that_fixes_it(tmp_path, monkeypatch):
    BUILDERS["stanford-cars"](tmp_path).apply(monkeypatch)
    train = tmp_path / "stanford_cars" / "cars_train"
    nested = train / "cars_train"
    nested.mkdir()
    for image in list(train.glob("*.jpg")):  # Kaggle's archive: cars_train/cars_train/*.jpg
        shutil.move(image, nested / image.name)
    argv = ("run", "--methods", "dn2", "--datasets", "stanford-cars", "--classes", "0", "--data-root", str(tmp_path),
            "--results", str(tmp_path / "results"), "--quiet", "--executor", "inline")
    status, _, err = run_cli(*argv)
    (line,) = lines_of(err)
    assert status == 2 and "the images are one level too deep, in cars_train/cars_train" in line
    command = f"mv {nested}/* {train}/ && rmdir {nested}"
    assert f"`{command}`" in line
    for image in nested.iterdir():  # what the command does
        shutil.move(image, train / image.name)
    nested.rmdir()
    status, out, err = run_cli(*argv)
    assert status == 0 and "1 done" in out, err


def test_an_empty_mvtec_train_good_and_missing_masks_are_refused_at_plan_time(tmp_path, monkeypatch):
    BUILDERS["mvtec"](tmp_path).apply(monkeypatch)
    base = tmp_path / "mvtec" / "bottle"
    argv = ("run", "--methods", "dn2", "--datasets", "mvtec", "--classes", "bottle", "--data-root", str(tmp_path),
            "--results", str(tmp_path / "results"), "--dry-run")
    for image in (base / "train" / "good").iterdir():
        image.unlink()
    status, _, err = run_cli(*argv)
    (line,) = lines_of(err)
    assert status == 2 and "bottle/train/good holds no image" in line and "`bench data fetch mvtec`" in line

    BUILDERS["mvtec"](tmp_path / "again").apply(monkeypatch)
    mask = tmp_path / "again" / "mvtec" / "bottle" / "ground_truth" / "scratch_head" / "001_mask.png"
    mask.unlink()
    status, _, err = run_cli(*argv[:-5], "--data-root", str(tmp_path / "again"), "--results", str(tmp_path / "r"), "--dry-run")
    (line,) = lines_of(err)
    assert status == 2 and "bottle/test/scratch_head/001.png has no mask" in line and str(mask) in line
    status, out, _ = run_cli("data", "--data-root", str(tmp_path / "again"), "verify", "mvtec")
    assert status == 1 and "has no mask" in out  # verify checks what the split reads, too


def test_mvtec_one_level_too_deep_gets_the_mv_not_a_download(tmp_path, monkeypatch):
    BUILDERS["mvtec"](tmp_path / "made").apply(monkeypatch)
    (tmp_path / "data" / "mvtec").mkdir(parents=True)
    deep = tmp_path / "data" / "mvtec" / "mvtec_anomaly_detection"
    shutil.move(tmp_path / "made" / "mvtec", deep)
    status, _, err = run_cli("run", "--methods", "dn2", "--datasets", "mvtec", "--classes", "bottle", "--dry-run",
                             "--data-root", str(tmp_path / "data"), "--results", str(tmp_path / "results"))
    (line,) = lines_of(err)
    assert status == 2 and "one level too deep" in line
    assert f"`mv {deep}/* {tmp_path / 'data' / 'mvtec'}/ && rmdir {deep}`" in line and "4.9 GiB" not in line


def test_test_classes_that_contradict_the_data_are_refused_naming_the_parameter(tmp_path, monkeypatch):
    BUILDERS["cub200"](tmp_path).apply(monkeypatch)
    base = ("run", "--methods", "dn2", "--datasets", "cub200", "--data-root", str(tmp_path), "--dry-run",
            "--results", str(tmp_path / "results"))
    status, _, err = run_cli(*base, "--classes", "0,1", "--set", "cub200.test_classes=1")
    (line,) = lines_of(err)
    assert status == 2 and "test_classes=1 keeps a single class's test images" in line and "--set cub200.test_classes" in line
    status, _, err = run_cli(*base, "--classes", "0,2", "--set", "cub200.test_classes=2")
    assert status == 2 and "2 inputs of this sweep are missing or unusable" in err
    assert "class(es) 2 would have no normal test image" in err and "at least 3" in err
    assert "species 2 has no training image" in err  # the tiny set's third species has test images only
    status, out, err = run_cli(*base, "--classes", "0,1", "--set", "cub200.test_classes=2")
    assert status == 0, err


def test_corrupt_cifar_batches_are_refused_at_plan_time(tmp_path, monkeypatch):
    BUILDERS["cifar10"](tmp_path).apply(monkeypatch)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"garbage")
    status, _, err = run_cli("run", "--methods", "dn2", "--datasets", "cifar10", "--data-root", str(tmp_path),
                             "--dry-run", "--results", str(tmp_path / "results"))
    (line,) = lines_of(err)
    assert status == 2 and "dataset cifar10: data_batch_3 fails its checksum" in line
    assert "`bench data fetch cifar10` replaces it" in line
