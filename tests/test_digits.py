import numpy as np
import pytest
from sklearn.datasets import load_digits

from bench import registry
from bench.context import RunContext


@pytest.fixture(scope="module")
def digits():
    return registry.datasets.get("digits").factory()


def test_split_follows_the_documented_protocol(digits):
    target = load_digits().target
    counts = np.bincount(target)
    split = digits.split(3, RunContext())
    n_test = {c: int(round(0.5 * counts[c])) for c in range(10)}
    assert len(split.train) == counts[3] - n_test[3]
    assert len(split.test) == sum(n_test.values())
    assert split.sizes["test_normal"] == n_test[3]
    assert split.sizes["test_anomalous"] == sum(n_test.values()) - n_test[3]
    assert set(split.anomaly_class[split.is_anomaly]) == {str(c) for c in range(10) if c != 3}
    assert split.class_name == "3"


def test_images_are_real_digits_of_the_right_classes(digits):
    data = load_digits()
    pixels = np.rint(data.images * 255 / 16).astype(np.uint8)
    split = digits.split(5, RunContext())
    train = np.stack([np.asarray(image) for image in split.train])
    assert train.shape[1:] == (8, 8) and train.dtype == np.uint8
    lookup = {image.tobytes(): label for image, label in zip(pixels, data.target)}
    assert all(lookup[image.tobytes()] == 5 for image in train)
    test = np.stack([np.asarray(image) for image in split.test])
    labels = np.array([lookup[image.tobytes()] for image in test])
    np.testing.assert_array_equal(split.is_anomaly, labels != 5)


def test_train_and_test_are_disjoint_and_the_split_is_seeded(digits):
    split = digits.split(0, RunContext())
    train = {np.asarray(image).tobytes() for image in split.train}
    test_normal = {np.asarray(split.test[i]).tobytes() for i in np.flatnonzero(~split.is_anomaly)}
    assert not train & test_normal
    again = digits.split(0, RunContext())
    assert [np.asarray(i).tobytes() for i in again.train] == [np.asarray(i).tobytes() for i in split.train]
    other = registry.datasets.get("digits").factory(split_seed=1).split(0, RunContext())
    assert {np.asarray(i).tobytes() for i in other.train} != train


def test_test_set_is_shared_across_normal_classes(digits):
    first, second = digits.split(0, RunContext()), digits.split(7, RunContext())
    assert first.test.key == second.test.key
    assert first.train.key != second.train.key


def test_bad_fraction_is_rejected():
    with pytest.raises(ValueError, match="test_fraction"):
        registry.datasets.get("digits").factory(test_fraction=1.5).split(0, RunContext())
