"""The bad-input battery: user mistakes and damaged states over every subcommand, each met
with one line on stderr that names the fix, exit status 2 and nothing written — or, where
repairing is the right answer, success.

Each row of `MISTAKES` is (id, argv, phrase the one line must contain, setup). argv items are
formatted with the test's folders: {tmp}, {results} (the results root), {data} (the data
root, also $BENCH_DATA), {bank} (a fake-bank file the setup writes) and {clusters}. $BENCH_CACHE
is {tmp}/cache. A setup is called with (tmp folder, monkeypatch) before the snapshot, so what
it writes is not counted as written by the command.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_cli

RUN = ("run", "--classes", "0", "--results", "{results}")
SLURM = (*RUN, "--methods", "dn2", "--executor", "slurm")
FITYMI_BANK = (*RUN, "--methods", "fitymi-bank", "--set", "fitymi-bank.bank_path={bank}")


def bank(array_or_bytes):
    def write(tmp, monkeypatch):
        path = tmp / "bank.npy"
        if isinstance(array_or_bytes, bytes):
            path.write_bytes(array_or_bytes)
        elif isinstance(array_or_bytes, str) and array_or_bytes == "dir":
            path.mkdir()
        elif isinstance(array_or_bytes, str):
            with open(path, "wb") as handle:
                np.savez(handle, fakes=np.zeros((10, 8, 8, 3), np.uint8))
        else:
            np.save(path, array_or_bytes, allow_pickle=True)
    return write


def file_at(relative, text="not a folder"):
    def write(tmp, monkeypatch):
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return write


def clusters(text):
    def write(tmp, monkeypatch):
        (tmp / "clusters.toml").write_text(text)
        monkeypatch.setenv("BENCH_CLUSTERS", str(tmp / "clusters.toml"))
    return write


def sweep_file(text, sweep="abcd1234"):
    def write(tmp, monkeypatch):
        path = tmp / "results" / "sweeps" / sweep / "sweep.json"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    return write


def no_gpu(tmp, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)


def cache_is_a_file(tmp, monkeypatch):
    (tmp / "cache").write_text("not a folder")


MISTAKES = [
    # the command line itself
    ("unknown command", ("frobnicate",), "invalid choice", None),
    ("unknown top-level option", ("--nope",), "unrecognized arguments", None),
    ("run: unknown option", (*RUN, "--nope"), "unrecognized arguments", None),
    ("run: unknown method", (*RUN, "--methods", "nope"), "unknown method 'nope'", None),
    ("run: unknown dataset", (*RUN, "--datasets", "nope"), "unknown dataset 'nope'", None),
    ("run: exclusion as a value", (*RUN, "--methods", "-dn2"), "--methods=-dn2, or all,-dn2", None),
    ("run: dataset exclusion as a value", (*RUN, "--datasets", "-digits"), "attached with '='", None),
    ("run: empty classes", ("run", "--classes", "", "--results", "{results}"), "--classes is empty", None),
    ("run: only commas as classes", ("run", "--classes", ",,", "--results", "{results}"), "--classes is empty", None),
    ("run: class index too high", ("run", "--classes", "99", "--results", "{results}"), "is not a class of digits", None),
    ("run: unknown class name", ("run", "--classes", "cat", "--results", "{results}"), "is not a class of digits", None),
    ("run: negative class", ("run", "--classes", "-1", "--results", "{results}"), "is not a class of digits", None),
    ("run: empty seeds", (*RUN, "--seeds", ""), "--seeds is empty", None),
    ("run: seeds as words", (*RUN, "--seeds", "a,b"), "give comma-separated integers", None),
    ("run: fractional seed", (*RUN, "--seeds", "1.5"), "give comma-separated integers", None),
    ("run: negative seed", (*RUN, "--seeds=-1"), "a seed must be in [0, 4294967296)", None),
    ("run: seed of 2**32", (*RUN, "--seeds", "4294967296"), "a seed must be in [0, 4294967296)", None),
    ("run: unknown profile", (*RUN, "--profile", "nope"), "has no profile 'nope'", None),
    ("run: --set without a dot", (*RUN, "--set", "k=3"), "write NAME.PARAM=VALUE", None),
    ("run: --set without a value", (*RUN, "--set", "dn2.k"), "write NAME.PARAM=VALUE", None),
    ("run: --set without a target", (*RUN, "--set", ".k=3"), "write NAME.PARAM=VALUE", None),
    ("run: --set of an unknown parameter", (*RUN, "--methods", "dn2", "--set", "dn2.nope=1"), "has no parameter nope", None),
    ("run: --set of an unselected name", (*RUN, "--methods", "dn2", "--set", "zzz.k=1"), "matches no selected method", None),
    ("run: text for an int", (*RUN, "--methods", "dn2", "--set", "dn2.k=abc"), "k='abc' is not int", None),
    ("run: zero neighbours", (*RUN, "--methods", "dn2", "--set", "dn2.k=0"), "k=0 is out of range: it must be ≥ 1", None),
    ("run: negative neighbours", (*RUN, "--methods", "dn2", "--set", "dn2.k=-3"), "k=-3 is out of range", None),
    ("run: fractional neighbours", (*RUN, "--methods", "dn2", "--set", "dn2.k=2.5"), "k=2.5 is not int", None),
    ("run: boolean neighbours", (*RUN, "--methods", "dn2", "--set", "dn2.k=true"), "k=True is not int", None),
    ("run: list for an int", (*RUN, "--methods", "dn2", "--set", "dn2.k=[2]"), "k=[2] is not int", None),
    ("run: text image size", (*RUN, "--methods", "dn2", "--set", "dn2.image_size=big"), "image_size='big' is not int", None),
    ("run: zero image size", (*RUN, "--methods", "dn2", "--set", "dn2.image_size=0"), "image_size=0 is out of range", None),
    ("run: zero batch size", (*RUN, "--methods", "dn2", "--set", "dn2.batch_size=0"), "batch_size=0 is out of range", None),
    ("run: negative resize", (*RUN, "--methods", "dn2", "--set", "dn2.resize=-1"), "resize=-1 is out of range", None),
    ("run: number for a backbone", (*RUN, "--methods", "dn2", "--set", "dn2.backbone=5"), "backbone=5 is not str", None),
    ("run: list for weights", (*RUN, "--methods", "dn2", "--set", "dn2.weights=[1]"), "weights=[1] is not str", None),
    ("run: word for a boolean", (*RUN, "--methods", "pyod-knn", "--set", "pyod-knn.standardize=maybe"),
     "standardize='maybe' is not bool", None),
    ("run: number for detector options", (*RUN, "--methods", "pyod-knn", "--set", "pyod-knn.detector_params=5"),
     "detector_params=5 is not", None),
    ("run: unclosed JSON object", (*RUN, "--methods", "fitymi", "--set", 'fitymi.generator_params={"train_steps": 5'),
     "is not valid JSON", None),
    ("run: unclosed JSON list", (*RUN, "--methods", "msc", "--set", "msc.trainable_layers=[\"layer4\""),
     "is not valid JSON", None),
    ("run: unclosed JSON string", (*RUN, "--methods", "dn2", "--set", 'dn2.weights="random'), "is not valid JSON", None),
    ("run: negative generator steps", (*RUN, "--methods", "fitymi", "--set", 'fitymi.generator_params={"train_steps": -1}'),
     "train_steps=-1 is out of range", None),
    ("run: unknown generator parameter", (*RUN, "--methods", "fitymi", "--set", 'fitymi.generator_params={"nope": 1}'),
     "has no parameter nope", None),
    ("run: unknown generator", (*RUN, "--methods", "fitymi", "--set", "fitymi.generator=nope"), "unknown generator 'nope'", None),
    ("run: unknown generator profile", (*RUN, "--methods", "fitymi", "--set", "fitymi.generator_profile=nope"),
     "has no profile 'nope'", None),
    ("run: text generator options", (*RUN, "--methods", "fitymi", "--set", "fitymi.generator_params=fast"),
     "generator_params='fast' is not", None),
    ("run: zero learning rate", (*RUN, "--methods", "fitymi", "--set", "fitymi.lr=0"), "lr=0 is out of range: it must be > 0", None),
    ("run: negative learning rate", (*RUN, "--methods", "panda", "--set", "panda.lr=-0.1"), "lr=-0.1 is out of range", None),
    ("run: dropout of 1.5", (*RUN, "--methods", "fitymi", "--set", "fitymi.dropout=1.5"), "dropout=1.5 is out of range", None),
    ("run: momentum of 1", (*RUN, "--methods", "fitymi", "--set", "fitymi.momentum=1"), "momentum=1 is out of range", None),
    ("run: zero epochs", (*RUN, "--methods", "fitymi", "--set", "fitymi.epochs=0"), "epochs=0 is out of range", None),
    ("run: negative frozen blocks", (*RUN, "--methods", "fitymi", "--set", "fitymi.frozen_blocks=-1"),
     "frozen_blocks=-1 is out of range", None),
    ("run: zero fake ratio", (*RUN, "--methods", "fitymi", "--set", "fitymi.fake_ratio=0"), "fake_ratio=0 is out of range", None),
    ("run: infinite learning rate", (*RUN, "--methods", "msc", "--set", "msc.lr=Infinity"), "lr=inf is out of range", None),
    ("run: zero temperature", (*RUN, "--methods", "msc", "--set", "msc.temperature=0"), "temperature=0 is out of range", None),
    ("run: zero milestone", (*RUN, "--methods", "deep-svdd", "--set", "deep-svdd.milestone=0"), "milestone=0 is out of range", None),
    ("run: zero clip norm", (*RUN, "--methods", "panda", "--set", "panda.clip_norm=0"), "clip_norm=0 is out of range", None),
    ("run: coreset ratio of 0", (*RUN, "--methods", "patchcore", "--set", "patchcore.coreset_sampling_ratio=0"),
     "coreset_sampling_ratio=0 is out of range", None),
    ("run: coreset ratio of 2", (*RUN, "--methods", "patchcore", "--set", "patchcore.coreset_sampling_ratio=2"),
     "coreset_sampling_ratio=2 is out of range", None),
    ("run: zero warm-up multiplier", (*RUN, "--methods", "csi", "--set", "csi.warmup_multiplier=0"),
     "warmup_multiplier=0 is out of range", None),
    ("run: resolution below the network's", (*RUN, "--methods", "csi", "--set", "csi.image_size=4"),
     "--set csi.image_size=8", None),
    ("run: zero bank classes", (*RUN, "--methods", "fitymi-bank", "--set", "fitymi-bank.bank_classes=0"),
     "bank_classes=0 is out of range", None),
    ("run: negative bank classes", (*RUN, "--methods", "fitymi-bank", "--set", "fitymi-bank.bank_classes=-2"),
     "bank_classes=-2 is out of range", None),
    ("run: float fake bank", FITYMI_BANK, "got float32 (10, 8, 8, 3)", bank(np.zeros((10, 8, 8, 3), np.float32))),
    ("run: 3-D fake bank", FITYMI_BANK, "got uint8 (10, 8, 8)", bank(np.zeros((10, 8, 8), np.uint8))),
    ("run: empty fake bank", FITYMI_BANK, "got uint8 (0, 8, 8, 3)", bank(np.zeros((0, 8, 8, 3), np.uint8))),
    ("run: one-channel fake bank", FITYMI_BANK, "got uint8 (10, 8, 8, 1)", bank(np.zeros((10, 8, 8, 1), np.uint8))),
    ("run: bank not a multiple of the classes", FITYMI_BANK, "a multiple of 10", bank(np.zeros((7, 8, 8, 3), np.uint8))),
    ("run: .npz fake bank", FITYMI_BANK, "it is an .npz archive", bank("npz")),
    ("run: folder as a fake bank", FITYMI_BANK, "it is a folder", bank("dir")),
    ("run: pickled fake bank", FITYMI_BANK, "it holds Python objects (a pickle)", bank(np.array([{"x": 1}], dtype=object))),
    ("run: text file as a fake bank", FITYMI_BANK, "it is not a .npy file", bank(b"these are not fakes")),
    ("run: empty file as a fake bank", FITYMI_BANK, "it is not a .npy file", bank(b"")),
    ("run: missing fake bank", (*RUN, "--methods", "fitymi-bank", "--set", "fitymi-bank.bank_path={tmp}/none.npy"),
     "not found at", None),
    ("run: zero test fraction", (*RUN, "--set", "digits.test_fraction=0"), "test_fraction=0 is out of range", None),
    ("run: test fraction of 1", (*RUN, "--set", "digits.test_fraction=1"), "test_fraction=1 is out of range", None),
    ("run: text test fraction", (*RUN, "--set", "digits.test_fraction=half"), "test_fraction='half' is not float", None),
    ("run: negative split seed", (*RUN, "--set", "digits.split_seed=-1"), "split_seed=-1 is out of range", None),
    ("run: zero generator steps of a near set", (*RUN, "--methods", "dn2", "--datasets", "digits-fsde",
                                                 "--set", "digits-fsde.generator_steps=0"), "out of range", None),
    ("run: negative generator seed", (*RUN, "--methods", "dn2", "--datasets", "digits-fsgan",
                                      "--set", "digits-fsgan.generator_seed=-5"), "generator_seed=-5 is out of range", None),
    ("run: unknown generator profile of a near set", (*RUN, "--methods", "dn2", "--datasets", "digits-fsde",
                                                      "--set", "digits-fsde.generator_profile=nope"), "has no profile", None),
    ("run: unknown executor", (*RUN, "--executor", "moon"), "invalid choice", None),
    ("run: workers inline", (*RUN, "--executor", "inline", "--workers", "2"), "--workers sizes the local executor's pool", None),
    ("run: workers with slurm", (*RUN, "--executor", "slurm", "--workers", "2"), "--workers sizes the local executor's pool", None),
    ("run: zero workers", (*RUN, "--workers", "0"), "--workers must be at least 1", None),
    ("run: text workers", (*RUN, "--workers", "two"), "invalid int value", None),
    ("run: negative loader workers", (*RUN, "--loader-workers=-1"), "--loader-workers must be 0 or more", None),
    ("run: unknown device", (*RUN, "--device", "tpu"), "use cpu, cuda", None),
    ("run: a GPU that is not here", (*RUN, "--methods", "dn2", "--device", "cuda"), "no GPU is visible", no_gpu),
    ("run: SLURM option with local", (*RUN, "--executor", "local", "--partition", "p"), "applies to --executor slurm only", None),
    ("run: --wait inline", (*RUN, "--executor", "inline", "--wait"), "--wait applies to --executor slurm only", None),
    ("run: --cluster with local", (*RUN, "--executor", "local", "--cluster", "gpu"), "--cluster applies to", None),
    ("run: newline in --account", (*SLURM, "--account", "lab\nrm -rf ~"), "contains a newline", None),
    ("run: newline in --partition", (*SLURM, "--partition", "gpu\n#SBATCH --qos=high"), "contains a newline", None),
    ("run: NUL in --qos", (*SLURM, "--qos", "normal\x00"), "contains a newline or control character", None),
    ("run: newline in --sbatch", (*SLURM, "--sbatch", "mail-type=FAIL\necho owned"), "contains a newline", None),
    ("run: carriage return in --constraint", (*SLURM, "--constraint", "a100\r"), "contains a newline", None),
    ("run: unreadable time limit", (*SLURM, "--time", "soon"), "write minutes (90) or [D-]H:MM:SS", None),
    ("run: zero time limit", (*SLURM, "--time", "0"), "write minutes", None),
    ("run: unreadable memory", (*SLURM, "--mem", "lots"), "write a size like 16G", None),
    ("run: zero CPUs per task", (*SLURM, "--cpus-per-task", "0"), "give a whole number ≥ 1", None),
    ("run: negative requeues", (*SLURM, "--requeues=-1"), "give a whole number ≥ 0", None),
    ("run: --sbatch of a managed key", (*SLURM, "--sbatch", "array=1-3"), "nearbench sets sbatch's --array itself", None),
    ("run: --sbatch of a dedicated option", (*SLURM, "--sbatch", "partition=gpu"), "use --partition instead", None),
    ("run: --sbatch without a key", (*SLURM, "--sbatch", "=x"), "write KEY=VALUE", None),
    ("run: --sbatch with an empty value", (*SLURM, "--sbatch", "mail-type="), "write KEY=VALUE", None),
    ("run: unknown cluster profile", (*RUN, "--cluster", "nope"), "no such profile", clusters("[gpu]\npartition = \"gpu\"\n")),
    ("run: cluster file not TOML", (*RUN, "--cluster", "gpu"), "not valid TOML", clusters("[gpu\n")),
    ("run: unknown key in a cluster profile", (*RUN, "--cluster", "gpu"), "unknown key 'partitio'",
     clusters("[gpu]\npartitio = \"gpu\"\n")),
    ("run: newline in a cluster profile", (*RUN, "--cluster", "gpu"), "contains a newline",
     clusters('[gpu]\naccount = "lab\\nrm -rf ~"\n')),
    ("run: newline in a setup line", (*RUN, "--cluster", "gpu"), "contains a newline",
     clusters('[gpu]\nsetup = ["module load cuda\\necho owned"]\n')),
    ("run: a profile that is not a table", (*RUN, "--cluster", "gpu"), "is not a table", clusters("gpu = 1\n")),
    ("run: results root is a file", ("run", "--classes", "0", "--results", "{tmp}/file"), "is a file, not a folder",
     file_at("file")),
    ("run: results root below a file", ("run", "--classes", "0", "--results", "{tmp}/file/results"), "cannot be made",
     file_at("file")),
    ("run: cache is a file", RUN, "set BENCH_CACHE to a folder you can write to, or run with --no-cache", cache_is_a_file),
    ("run: data root is a file", (*RUN, "--data-root", "{tmp}/file"), "the data root", file_at("file")),
    ("run: named dataset without data", (*RUN, "--methods", "dn2", "--datasets", "cifar10"), "bench data fetch cifar10", None),
    ("run: MNIST without data", (*RUN, "--methods", "dn2", "--datasets", "mnist"), "bench data fetch mnist", None),
    ("run: MVTec without data", (*RUN, "--methods", "dn2", "--datasets", "mvtec"), "bench data fetch mvtec", None),
    ("run: strict with a missing glob member", (*RUN, "--methods", "dn2", "--datasets", "mnist-w*", "--strict"),
     "bench data fetch", None),
    ("run: a test_fraction that leaves no training image", (*RUN, "--methods", "dn2", "--set",
                                                           "digits.test_fraction=0.999"), "without training images", None),
    ("run: a boolean written as text", (*RUN, "--methods", "pyod-knn", "--set", "pyod-knn.standardize=False"),
     "write false", None),
    ("run: an int written as a string", (*RUN, "--methods", "dn2", "--set", 'dn2.k="3"'), "without quotes", None),
    ("run: missing pretrained weights", (*RUN, "--methods", "panda", "--profile", "paper"), "bench prepare", None),
    ("run: weights that are no checkpoint", (*RUN, "--methods", "dn2", "--set", "dn2.weights={tmp}/file"),
     "is not a torch checkpoint", file_at("file")),
    ("run: weights path that does not exist", (*RUN, "--methods", "dn2", "--set", "dn2.weights={tmp}/none.pth"),
     "check the path", None),
    # bench status and bench cancel
    ("status: no sweeps", ("status", "--results", "{results}"), "no SLURM sweeps under", None),
    ("status: unknown sweep", ("status", "nope", "--results", "{results}"), "no sweep 'nope'", None),
    ("cancel: unknown sweep", ("cancel", "nope", "--results", "{results}"), "no sweep 'nope'", None),
    ("cancel: no sweep given", ("cancel",), "the following arguments are required: SWEEP", None),
    ("status: text --lines", ("status", "--lines", "x"), "invalid int value", None),
    ("status: truncated sweep file", ("status", "abcd1234", "--results", "{results}"), "its state file",
     sweep_file('{"id": "abcd1234", "results": ')),
    ("status: sweep file that is not a sweep's", ("status", "abcd1234", "--results", "{results}"), "is damaged",
     sweep_file('{"hello": 1}')),
    ("status: empty sweep file", ("status", "abcd1234", "--results", "{results}"), "is damaged", sweep_file("")),
    ("cancel: damaged sweep file", ("cancel", "abcd1234", "--results", "{results}"), "delete", sweep_file("[1, 2")),
    ("status: sweep file of another shape", ("status", "abcd1234", "--results", "{results}"), "is damaged",
     sweep_file(json.dumps({"id": "abcd1234", "results": "r", "command": "c", "created": "t", "cells": [],
                            "submissions": [{"tasks": "x"}]}))),
    # bench table
    ("table: no records", ("table", "--results", "{results}"), "run `bench run` first", None),
    ("table: unknown metric", ("table", "--metric", "accuracy"), "invalid choice", None),
    ("table: unknown format", ("table", "--format", "pdf"), "invalid choice", None),
    # bench list
    ("list: unknown kind", ("list", "widgets"), "invalid choice", None),
    # bench data
    ("data: no action", ("data",), "required: ACTION", None),
    ("data: unknown action", ("data", "frob"), "invalid choice", None),
    ("data fetch: no name", ("data", "fetch"), "the following arguments are required: SPEC", None),
    ("data fetch: unknown dataset", ("data", "fetch", "nope"), "unknown dataset 'nope'", None),
    ("data verify: unknown dataset", ("data", "verify", "nope"), "unknown dataset 'nope'", None),
    ("data: data root is a file", ("data", "--data-root", "{tmp}/file", "list"), "is a file", file_at("file")),
    ("data fetch: data root below a file", ("data", "--data-root", "{tmp}/file/data", "fetch", "cifar10"),
     "cannot be made", file_at("file")),
    # bench prepare
    ("prepare: unknown method", ("prepare", "--methods", "nope"), "unknown method 'nope'", None),
    ("prepare: out-of-range value", ("prepare", "--methods", "dn2", "--set", "dn2.k=0"), "k=0 is out of range", None),
    ("prepare: unknown profile", ("prepare", "--profile", "nope"), "has no profile 'nope'", None),
    ("prepare: unclosed JSON", ("prepare", "--methods", "fitymi", "--set", "fitymi.generator_params={"),
     "is not valid JSON", None),
    ("report: --out in a missing folder", ("report", "--results", "{results}", "--out", "{tmp}/none/report.html"),
     "does not exist", lambda tmp, _: (tmp / "results").mkdir()),
    # bench fakes
    ("fakes: --export of one class", ("fakes", "--dataset", "digits", "--class", "3", "--generator", "dcgan",
                                      "--export", "{tmp}/bank.npy"), "give --class all", None),
    ("fakes: --export into a missing folder", ("fakes", "--dataset", "digits", "--class", "all", "--generator",
                                               "dcgan", "--n", "4", "--export", "{tmp}/none/bank.npy"),
     "does not exist", None),
    ("fakes: --export of classes of several sizes", ("fakes", "--dataset", "digits", "--class", "all", "--generator",
                                                     "dcgan", "--export", "{tmp}/bank.npy"), "give --n", None),
    ("fakes: no dataset", ("fakes", "--class", "0", "--generator", "dcgan"), "required: --dataset", None),
    ("fakes: unknown generator", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "nope"),
     "unknown generator 'nope'", None),
    ("fakes: unknown dataset", ("fakes", "--dataset", "nope", "--class", "0", "--generator", "dcgan"),
     "unknown dataset 'nope'", None),
    ("fakes: unknown class", ("fakes", "--dataset", "digits", "--class", "99", "--generator", "dcgan"),
     "is not a class of digits", None),
    ("fakes: zero fakes", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan", "--n", "0"),
     "--n must be at least 1", None),
    ("fakes: negative training steps", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan",
                                        "--set", "train_steps=-1"), "train_steps=-1 is out of range", None),
    ("fakes: --set without a value", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan",
                                      "--set", "train_steps"), "write PARAM=VALUE", None),
    ("fakes: unknown parameter", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan",
                                  "--set", "nope=1"), "has no parameter nope", None),
    ("fakes: unclosed JSON", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "diffusion",
                              "--set", "channels=[16, 32"), "is not valid JSON", None),
    ("fakes: negative seed", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan", "--seed=-1"),
     "a seed must be in [0, 4294967296)", None),
    ("fakes: unknown profile", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan",
                                "--profile", "nope"), "has no profile 'nope'", None),
    ("fakes: unknown device", ("fakes", "--dataset", "digits", "--class", "0", "--generator", "dcgan",
                               "--device", "tpu"), "use cpu, cuda", None),
    ("fakes: dataset without data", ("fakes", "--dataset", "cifar10", "--class", "0", "--generator", "dcgan"),
     "bench data fetch cifar10", None),
]


def fill(part: str, folders: dict) -> str:
    for name, path in folders.items():
        part = part.replace(f"{{{name}}}", str(path))
    return part


def snapshot(folder):
    return sorted((str(p.relative_to(folder)), p.is_dir(), p.stat().st_size if p.is_file() else 0)
                  for p in folder.rglob("*"))


@pytest.mark.parametrize("argv, phrase, setup", [row[1:] for row in MISTAKES], ids=[row[0] for row in MISTAKES])
def test_a_mistake_is_one_line_naming_the_fix_exit_2_and_nothing_written(tmp_path, monkeypatch, argv, phrase, setup):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("BENCH_CLUSTERS", raising=False)
    monkeypatch.setenv("BENCH_CLUSTERS", str(tmp_path / "no-clusters.toml"))
    monkeypatch.chdir(tmp_path)
    if setup is not None:
        setup(tmp_path, monkeypatch)
    folders = {"tmp": tmp_path, "results": tmp_path / "results", "data": tmp_path / "data", "bank": tmp_path / "bank.npy"}
    before = snapshot(tmp_path)
    status, out, err = run_cli(*(fill(part, folders) for part in argv))
    lines = err.strip().splitlines()
    assert status == 2, (status, out, err)
    assert len(lines) == 1 and phrase in lines[0], err
    assert snapshot(tmp_path) == before  # nothing written: no results, cache, data or sweep files


def test_the_battery_is_at_least_120_distinct_mistakes():
    assert len({row[0] for row in MISTAKES}) == len(MISTAKES) >= 120
    assert len({tuple(row[1]) + (row[3],) for row in MISTAKES}) == len(MISTAKES)  # no two rows alike
