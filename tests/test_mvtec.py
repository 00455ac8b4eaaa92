"""MVTec AD adapter on a tiny tree of PNGs in the real layout."""

import pytest

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from bench.images import FileImages
from tests.tiny_data import write_category

MVTEC = registry.datasets.get("mvtec").factory


def test_split_of_one_category_reads_lazily(tmp_path):
    write_category(tmp_path)
    split = MVTEC().split(MVTEC.classes.index("screw"), RunContext(data_root=tmp_path))
    assert split.sizes == {"train": 5, "test": 5, "test_normal": 2, "test_anomalous": 3}
    assert sorted(split.anomaly_class[split.is_anomaly]) == ["scratch_head", "scratch_head", "thread_top"]
    assert split.train[0].mode == "RGB"  # grayscale categories come back as RGB
    assert split.train.name == "mvtec/screw/train"
    assert split.train.key == FileImages(split.train.files()).key  # the files' content, not the name


def test_missing_category_is_reported_at_plan_time(tmp_path):
    write_category(tmp_path)
    missing = MVTEC().missing_files(tmp_path)
    assert tmp_path / "mvtec" / "bottle" / "train/good" in missing
    assert not any("screw" in str(p) for p in missing)


def test_broken_layout_is_one_clear_error(tmp_path):
    base = write_category(tmp_path)
    for mask in (base / "ground_truth" / "thread_top").iterdir():
        mask.unlink()
    with pytest.raises(UserError, match="is not an MVTec AD category"):
        MVTEC().split(MVTEC.classes.index("screw"), RunContext(data_root=tmp_path))


def test_only_the_selected_categories_must_be_present(tmp_path):
    from bench.errors import UserError
    from bench.plan import make_plan

    write_category(tmp_path)
    plan = make_plan("dn2", "mvtec", classes="screw", data_root=tmp_path)
    assert [c.class_name for c in plan.cells] == ["screw"]
    with pytest.raises(UserError, match="bottle/train/good"):
        make_plan("dn2", "mvtec", classes="screw,bottle", data_root=tmp_path)
