"""The shared backbone layer: seeded and file weights, the feature cache, weight downloads."""

import contextlib
import hashlib

import numpy as np
import pytest
import torch

from bench import registry
from bench.backbones import build_backbone, prepare_weights, weights_file
from bench.context import RunContext
from bench.download import download
from bench.errors import UserError
from bench.features import FeatureExtractor, FeatureSpec
from tests.conftest import run_cli


@contextlib.contextmanager
def count_forwards(module_type=torch.nn.Module):
    """Count forward calls of `module_type` modules anywhere, through torch's global hook."""
    calls = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, output: calls.append(len(args[0])) if isinstance(module, module_type) else None
    )
    try:
        yield calls
    finally:
        handle.remove()


@pytest.fixture(scope="module")
def split():
    return registry.datasets.get("digits").factory().split(2, RunContext())


def test_random_weights_depend_on_the_seed_alone():
    torch.manual_seed(123)  # earlier draws must not matter
    first = build_backbone("resnet18", "random", seed=1).state_dict()
    torch.rand(10)
    second = build_backbone("resnet18", "random", seed=1).state_dict()
    third = build_backbone("resnet18", "random", seed=2).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["conv1.weight"], third["conv1.weight"])


def test_second_method_on_the_same_backbone_hits_the_feature_cache(split, tmp_path):
    from torchvision.models import ResNet

    ctx = RunContext(seed=0, cache_dir=tmp_path)
    methods = [registry.methods.get(name).factory for name in ("dn2", "pyod-knn", "pyod-iforest")]
    passes = []
    for cls in methods:
        with count_forwards(ResNet) as calls:
            cls(**cls.profiles["smoke"]).fit(split.train, ctx).score(split.test, ctx)
        passes.append(sum(calls))
    assert passes == [len(split.train) + len(split.test), 0, 0]
    assert len(list((tmp_path / "features").rglob("*.npy"))) == 2  # train and test sets

    with count_forwards(ResNet) as calls:  # no cache: every method runs the network
        cls = methods[1]
        cls(**cls.profiles["smoke"]).fit(split.train, RunContext(seed=0)).score(split.test, RunContext(seed=0))
    assert sum(calls) == len(split.train) + len(split.test)


def test_cached_features_equal_fresh_ones_and_depend_on_the_seed(split, tmp_path):
    spec = FeatureSpec("resnet18", "random", 32, 32)
    fresh = FeatureExtractor(spec, RunContext(seed=0), batch_size=64)(split.train)
    cached = FeatureExtractor(spec, RunContext(seed=0, cache_dir=tmp_path), batch_size=64)
    np.testing.assert_array_equal(cached(split.train), fresh)
    again = FeatureExtractor(spec, RunContext(seed=0, cache_dir=tmp_path), batch_size=64)
    np.testing.assert_array_equal(again(split.train), fresh)
    assert again.forward_images == 0
    other_seed = FeatureExtractor(spec, RunContext(seed=1, cache_dir=tmp_path), batch_size=64)
    assert not np.array_equal(other_seed(split.train), fresh) and other_seed.forward_images == len(split.train)


def test_weights_from_a_file_are_loaded(split, tmp_path):
    model = build_backbone("resnet18", "random", seed=7)
    state = {**model.state_dict(), "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    path = tmp_path / "my-resnet18.pth"
    torch.save(state, path)
    ctx = RunContext(seed=0)  # a different seed: the file, not the seed, decides
    from_file = FeatureExtractor(FeatureSpec("resnet18", str(path), 32, 32), ctx, batch_size=64)(split.train)
    from_seed = FeatureExtractor(FeatureSpec("resnet18", "random", 32, 32), RunContext(seed=7), batch_size=64)(split.train)
    np.testing.assert_allclose(from_file, from_seed, rtol=1e-5, atol=1e-6)


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(build_backbone("resnet34", "random").state_dict(), path)
    with pytest.raises(UserError, match="does not fit ResNet"):
        build_backbone("resnet18", str(path))


def test_timm_backbones_build_by_name():
    model = build_backbone("timm:resnet18", "random", seed=0)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 512)
    with pytest.raises(UserError, match="weights must be 'pretrained'"):
        weights_file("timm:resnet18", "IMAGENET1K_V1")


def test_missing_weights_are_one_line_naming_the_file_and_prepare(tmp_path, monkeypatch, results):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    status, out, err = run_cli("run", "--methods", "panda,dn2", "--profile", "paper", "--results", str(results))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "resnet152-394f9c45.pth" in err and "bench prepare" in err and "panda, dn2" in err
    assert not results.exists()


def test_download_verifies_before_keeping(http_root, tmp_path):
    root, url = http_root
    payload = np.random.default_rng(0).bytes(300_000)
    (root / "blob.bin").write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    target = tmp_path / "out" / "blob.bin"
    assert download(f"{url}/blob.bin", target, algorithm="sha256", expected=good, progress=False).read_bytes() == payload
    bad_target = tmp_path / "out" / "other.bin"
    with pytest.raises(UserError, match="corrupt or not the right one"):
        download(f"{url}/blob.bin", bad_target, algorithm="sha256", expected="0" * 64, progress=False)
    assert not bad_target.exists() and not list(bad_target.parent.glob(".*part"))
    with pytest.raises(UserError, match="could not download"):
        download(f"{url}/absent.bin", tmp_path / "absent.bin", algorithm="sha256", expected=good, progress=False)


def test_prepare_weights_checks_torchvision_hash_prefix(http_root, tmp_path, monkeypatch):
    root, url = http_root
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("BENCH_WEIGHTS_MIRROR", url)
    torch.save(build_backbone("resnet18", "random").state_dict(), root / "resnet18-f37072fd.pth")
    with pytest.raises(UserError, match="resnet18-f37072fd.pth: sha256"):
        prepare_weights("resnet18", "IMAGENET1K_V1", progress=False)  # not the real file: refused
    assert not weights_file("resnet18", "IMAGENET1K_V1").exists()
