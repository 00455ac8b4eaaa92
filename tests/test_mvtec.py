"""MVTec AD adapter on a tiny tree of PNGs in the real layout."""

import numpy as np
import pytest
from PIL import Image

from bench import registry
from bench.context import RunContext
from bench.errors import UserError

MVTEC = registry.datasets.get("mvtec").factory


def png(path, value, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (16, 16, 3) if mode == "RGB" else (16, 16)
    Image.fromarray(np.full(shape, value, dtype=np.uint8), mode=mode).save(path)


def write_category(root, category="screw", mode="L"):
    base = root / "mvtec" / category
    for i in range(5):
        png(base / "train" / "good" / f"{i:03d}.png", 10 * i, mode)
    for i in range(2):
        png(base / "test" / "good" / f"{i:03d}.png", 100 + i, mode)
    for defect, count in (("scratch_head", 2), ("thread_top", 1)):
        for i in range(count):
            png(base / "test" / defect / f"{i:03d}.png", 200 + i, mode)
            png(base / "ground_truth" / defect / f"{i:03d}_mask.png", 255, "L")
    return base


def test_split_of_one_category_reads_lazily(tmp_path):
    write_category(tmp_path)
    split = MVTEC().split(MVTEC.classes.index("screw"), RunContext(data_root=tmp_path))
    assert split.sizes == {"train": 5, "test": 5, "test_normal": 2, "test_anomalous": 3}
    assert sorted(split.anomaly_class[split.is_anomaly]) == ["scratch_head", "scratch_head", "thread_top"]
    assert split.train[0].mode == "RGB"  # grayscale categories come back as RGB
    assert split.train.key == "mvtec/screw/train"


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
