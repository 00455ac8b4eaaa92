"""Image-set keys come from content: equal images, equal keys; any change, another key."""

import os
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from bench import digest
from bench.images import ArrayImages, ConcatImages, FileImages, ImageSet


def write_pngs(folder, values):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, value in enumerate(values):
        path = folder / f"{index:03d}.png"
        Image.fromarray(np.full((6, 6, 3), value, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_array_keys_follow_pixels_shape_and_order():
    images = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    key = ArrayImages(images).key
    assert ArrayImages(images.copy(), name="another name").key == key
    assert ArrayImages(images[::-1].copy()).key != key
    assert ArrayImages(images.reshape(4, 9, 1)).key != key
    changed = images.copy()
    changed[2, 1, 1] += 1
    assert ArrayImages(changed).key != key
    assert len(key) == 64 and int(key, 16) >= 0


def test_a_set_cannot_change_under_its_key():
    images = np.zeros((2, 3, 3), np.uint8)
    held = ArrayImages(images)
    with pytest.raises(ValueError):
        held.array[0, 0, 0] = 1


def test_subsets_and_concatenations_are_keyed_by_their_images():
    base = ArrayImages(np.arange(5 * 4, dtype=np.uint8).reshape(5, 2, 2))
    assert base.subset([1, 3]).key == ArrayImages(base.array[[1, 3]]).key
    assert base.subset([1, 3]).key != base.subset([3, 1]).key
    generic = ImageSet.subset(base, [1, 3])  # the generic view of any set
    assert generic.key not in (None, base.key) and generic.key != ImageSet.subset(base, [3, 1]).key
    both = ConcatImages([base.subset([0]), base.subset([1])])
    assert both.key == ConcatImages([base.subset([0]), base.subset([1])]).key != ConcatImages([base.subset([1]), base.subset([0])]).key


def test_a_set_that_cannot_tell_its_content_has_no_key():
    class Custom(ImageSet):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return Image.new("RGB", (2, 2))

    assert Custom().key is None
    assert ConcatImages([Custom(), ArrayImages(np.zeros((1, 2, 2), np.uint8))]).key is None


def test_a_given_key_is_ignored_with_a_warning():
    images = np.zeros((2, 3, 3), np.uint8)
    with pytest.warns(FutureWarning, match="come from the images' content"):
        keyed = ArrayImages(images, key="digits/train/c0")
    assert keyed.key == ArrayImages(images).key


def test_file_keys_follow_bytes_not_names_or_places(tmp_path):
    first = write_pngs(tmp_path / "a", [10, 20, 30])
    elsewhere = write_pngs(tmp_path / "b" / "deeper", [10, 20, 30])
    key = FileImages(first).key
    assert FileImages(elsewhere, name="b").key == key  # same bytes in another folder
    assert FileImages(first[::-1]).key != key
    assert FileImages(first).subset([2, 0]).key == FileImages([first[2], first[0]]).key
    assert FileImages(first).files() == [str(p) for p in first]


def test_a_file_replaced_by_a_copy_of_another_changes_the_key(tmp_path):
    """The issue's reproduction: a test image overwritten by a copy of a training image."""
    paths = write_pngs(tmp_path, [10, 20])
    images = FileImages(paths)
    before = images.key
    paths[1].write_bytes(paths[0].read_bytes())
    assert FileImages(paths).key != before
    assert images.key == before  # a set's key is taken once: sets are made afresh per split


def test_the_digest_of_a_file_rewritten_with_its_old_times_is_read_again(tmp_path, monkeypatch):
    """Same size, modification time set back (as `cp -p` or `touch -r` do): the change time
    still moves, so the remembered digest is not used."""
    monkeypatch.setattr(digest, "RACY_S", -1e9)  # remember even what was just written
    path = tmp_path / "image.bin"
    path.write_bytes(b"a" * 100)
    old = time.time() - 3600
    os.utime(path, (old, old))
    time.sleep(0.01)
    first = digest.content_digest(path)
    assert str(path) in digest._remembered
    stat = path.stat()
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size
    assert digest.content_digest(path) == digest.file_digest(path) != first


def test_a_file_digest_is_remembered_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "image.bin"
    path.write_bytes(b"x" * 10)
    old = time.time() - 3600
    os.utime(path, (old, old))
    reads = []
    real = digest.file_digest
    monkeypatch.setattr(digest, "file_digest", lambda p, *a: reads.append(p) or real(p, *a))
    # the change time is recent (just written): not remembered, the racy case
    digest.content_digest(path)
    digest.content_digest(path)
    assert len(reads) == 2
    monkeypatch.setattr(digest, "RACY_S", -1e9)  # as if the file had been written long ago
    digest.content_digest(path)
    digest.content_digest(path)
    assert len(reads) == 3
    path.write_bytes(b"y" * 10)
    assert digest.content_digest(path) == real(path) and len(reads) == 4


def test_reading_images_from_an_array_gives_them_back():
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(np.asarray(ArrayImages(images)[1]), images[1])
