"""Stanford Cars adapter on a tiny devkit (.mat) with images, in the real layout."""

import pytest

from bench import registry
from bench.context import RunContext
from tests.conftest import run_cli
from tests.tiny_data import checksums_of, write_cars

CARS = registry.datasets.get("stanford-cars").factory


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(CARS, "files", checksums_of(CARS, write_cars(tmp_path)))
    return tmp_path


def test_one_model_against_the_test_split(root):
    split = CARS().split(1, RunContext(data_root=root))  # class index 1 = annotation class 2
    assert split.sizes == {"train": 1, "test": 5, "test_normal": 2, "test_anomalous": 3}
    assert split.test[0].size == (9, 6)
    assert split.class_name == "BMW M3"  # the devkit's names, not placeholders
    assert sorted(set(split.anomaly_class[split.is_anomaly])) == ["Audi A4", "Fiat 500"]


def test_fetch_gets_the_devkit_and_test_labels_from_their_copies_and_prints_the_steps_for_the_images(
        tmp_path, monkeypatch, http_root):
    import hashlib
    import shutil
    import tarfile

    from bench.datafiles import Archive

    served, base = http_root
    made = write_cars(tmp_path / "made")
    with tarfile.open(served / "car_devkit.tgz", "w:gz") as tar:
        tar.add(made / "devkit", arcname="devkit")
    (served / "mirror").mkdir()
    shutil.copy(made / "cars_test_annos_withlabels.mat", served / "mirror" / "cars_test_annos_withlabels.mat")
    md5 = lambda path: hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setattr(CARS, "archives", (
        Archive(f"{base}/car_devkit.tgz", md5=md5(served / "car_devkit.tgz"), destination="stanford_cars"),
        Archive(f"{base}/gone/cars_test_annos_withlabels.mat", md5=md5(made / "cars_test_annos_withlabels.mat"),
                destination="stanford_cars", mirrors=(f"{base}/mirror/cars_test_annos_withlabels.mat",)),
    ))
    monkeypatch.setattr(CARS, "files", tuple(
        f if not f.md5 else f.__class__(f.path, md5=md5(made / f.path)) for f in CARS.files))
    data = tmp_path / "data"
    status, out, err = run_cli("data", "--data-root", str(data), "fetch", "stanford-cars", "--quiet")
    assert status == 2 and "jessicali9530/stanford-cars-dataset" in out and f"{data}/stanford_cars/cars_train" in out
    assert "must be fetched by hand" in err
    cars = data / "stanford_cars"
    assert (cars / "devkit" / "cars_meta.mat").read_bytes() == (made / "devkit" / "cars_meta.mat").read_bytes()
    assert md5(cars / "cars_test_annos_withlabels.mat") == md5(made / "cars_test_annos_withlabels.mat")  # from the mirror
    assert not (cars / "cars_train").exists()


def test_test_classes_limits_the_test_split(root):
    split = CARS(test_classes=2).split(0, RunContext(data_root=root))
    assert split.sizes == {"train": 2, "test": 3, "test_normal": 1, "test_anomalous": 2}
