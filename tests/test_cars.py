"""Stanford Cars adapter on a tiny devkit (.mat) with images, in the real layout."""

import hashlib

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from bench import registry
from bench.context import RunContext
from bench.datafiles import DataFile
from tests.conftest import run_cli

CARS = registry.datasets.get("stanford-cars").factory


def annotations(names, classes):
    records = np.zeros(len(names), dtype=[("fname", object), ("class", np.uint8)])
    records["fname"] = names
    records["class"] = classes
    return {"annotations": records}


@pytest.fixture
def root(tmp_path, monkeypatch):
    base = tmp_path / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    names = ["Audi A4", "BMW M3", "Fiat 500"] + [f"Model {i}" for i in range(4, 197)]  # the devkit lists all 196
    savemat(base / "devkit" / "cars_meta.mat", {"class_names": np.array(names, dtype=object)})
    for split, classes in (("train", [1, 1, 2, 3]), ("test", [1, 2, 2, 3, 3])):
        folder = base / f"cars_{split}"
        folder.mkdir()
        names = [f"{i:05d}.jpg" for i in range(1, len(classes) + 1)]
        for name in names:
            Image.fromarray(np.zeros((6, 9, 3), dtype=np.uint8)).save(folder / name)
        target = base / "devkit" / "cars_train_annos.mat" if split == "train" else base / "cars_test_annos_withlabels.mat"
        savemat(target, annotations(names, classes))
    md5 = hashlib.md5((base / "cars_test_annos_withlabels.mat").read_bytes()).hexdigest()
    files = tuple(DataFile(f.path, md5=md5 if f.md5 else None) for f in CARS.files)
    monkeypatch.setattr(CARS, "files", files)
    return tmp_path


def test_one_model_against_the_test_split(root):
    split = CARS().split(1, RunContext(data_root=root))  # class index 1 = annotation class 2
    assert split.sizes == {"train": 1, "test": 5, "test_normal": 2, "test_anomalous": 3}
    assert split.test[0].size == (9, 6)
    assert split.class_name == "BMW M3"  # the devkit's names, not placeholders
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == ["Audi A4", "Fiat 500"]


def test_fetch_prints_the_manual_steps(tmp_path):
    status, out, err = run_cli("data", "--data-root", str(tmp_path), "fetch", "stanford-cars")
    assert status == 2 and "jessicali9530/stanford-cars-dataset" in out and "car_devkit.tgz" in out


def test_test_classes_limits_the_test_split(root):
    split = CARS(test_classes=2).split(0, RunContext(data_root=root))
    assert split.sizes == {"train": 2, "test": 3, "test_normal": 1, "test_anomalous": 2}
