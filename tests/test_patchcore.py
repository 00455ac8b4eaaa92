"""PatchCore within a memory budget: the estimate's arithmetic, the chunked coreset against
the embeddings it came from, anomalib's own path when everything fits, and plan-time notices."""

import math

import numpy as np
import pytest
import torch

from bench import registry
from bench.context import RunContext
from bench.errors import UserError
from bench.methods.patchcore import GIB, BankGeometry, coreset_plan, projected_dim
from bench.plan import make_plan, resource_notices, select
from bench.seeding import seed_everything

PATCHCORE = registry.methods.get("patchcore").factory
SMOKE = PATCHCORE.profiles["smoke"]


@pytest.fixture(scope="module")
def train():
    return registry.datasets.get("digits").factory().split(2, RunContext()).train.subset(range(30))


def test_the_paper_bank_of_a_cifar10_class_is_29_gib():
    geometry = BankGeometry.of("wide_resnet50_2", ("layer2", "layer3"), 256)
    assert (geometry.patches, geometry.dim) == (32 * 32, 512 + 1024)
    assert geometry.bank_bytes(5000) == 5000 * 1024 * 1536 * 4
    assert geometry.bank_bytes(5000) / GIB == pytest.approx(29.3, abs=0.05)
    assert projected_dim(5000 * 1024) == int(4 * math.log(5000 * 1024) / (0.9**2 / 2 - 0.9**3 / 3))


def test_the_largest_chunk_within_the_budget():
    geometry = BankGeometry.of("wide_resnet50_2", ("layer2", "layer3"), 256)
    plan = coreset_plan(geometry, 5000, 0.1, 8.0, batch_size=32)
    coreset = int(0.1 * 5000 * 1024) * 1536 * 4
    assert plan.coreset_bytes == coreset and plan.chunk_images % 32 == 0
    assert coreset + geometry.chunk_peak_bytes(plan.chunk_images) <= 8 * GIB
    assert coreset + geometry.chunk_peak_bytes(plan.chunk_images + 32) > 8 * GIB  # the largest such
    assert plan.chunks == math.ceil(5000 / plan.chunk_images) and plan.peak_bytes <= 8 * GIB
    # MVTec's largest class fits in one pass: anomalib's path, unchanged
    assert coreset_plan(geometry, 391, 0.1, 8.0, batch_size=32).chunks == 1
    assert coreset_plan(geometry, 5000, 0.1, None, batch_size=32).chunks == 1
    with pytest.raises(ValueError, match="cannot hold the final memory bank of 5,000 images .2.93 GiB"):
        coreset_plan(geometry, 5000, 0.1, 2.0, batch_size=32)


def embeddings_of(detector, images, ctx):
    """Every patch vector the module makes of `images` (train mode), stacked."""
    module = detector._build(ctx).train()
    with torch.no_grad():
        return torch.cat([module.model(batch.image) for batch in detector._batches(images, ctx, shuffle=False)])


def test_chunks_keep_coresets_of_real_training_patches(train):
    ctx = RunContext(seed=0)
    geometry = BankGeometry.of("resnet18", ("layer2", "layer3"), 32)
    budget = (int(0.1 * 30 * geometry.patches) * geometry.dim * 4 + geometry.chunk_peak_bytes(10)) / GIB
    params = {**SMOKE, "batch_size": 5, "memory_budget_gib": budget}
    seed_everything(0)
    detector = PATCHCORE(**params).fit(train, ctx)
    assert detector.chunk_images(30, geometry) == 10 and detector.coreset_chunks_ == 3
    bank = detector.module_.model.memory_bank
    assert len(bank) == 3 * int(0.1 * 10 * geometry.patches)  # each chunk's 10%
    everything = embeddings_of(detector, train, ctx)
    exact = {"compute_mode": "donot_use_mm_for_euclid_dist"}
    distances = torch.cdist(bank, everything, **exact).min(dim=1).values
    assert float(distances.max()) < 1e-4  # every kept vector is a training patch vector
    for chunk in range(3):  # ... of its own chunk
        rows = everything[chunk * 10 * geometry.patches:(chunk + 1) * 10 * geometry.patches]
        kept = bank[chunk * int(geometry.patches):(chunk + 1) * int(geometry.patches)]
        assert float(torch.cdist(kept, rows, **exact).min(dim=1).values.max()) < 1e-4
    assert np.isfinite(detector.score(train, ctx)).all()


def test_one_chunk_is_anomalibs_own_path(train):
    from bench.methods.anomalib_models import AnomalibDetector

    ctx = RunContext(seed=0)
    seed_everything(0)
    budgeted = PATCHCORE(**SMOKE).fit(train, ctx)
    assert budgeted.coreset_chunks_ == 1
    seed_everything(0)
    plain = PATCHCORE(**SMOKE)
    AnomalibDetector.fit(plain, train, ctx)  # build, training_step per batch, the module's fit()
    assert torch.equal(budgeted.module_.model.memory_bank, plain.module_.model.memory_bank)


def test_plan_states_the_estimate_and_refuses_a_budget_that_cannot_hold_the_bank():
    notices = resource_notices(select("patchcore,padim", "cifar10,mvtec", profile="paper"))
    (patchcore,) = [n for n in notices if n.startswith("notice: patchcore on cifar10")]
    assert "5,000 images × 1,024 patches × 1,536 floats = 29.3 GiB before the coreset" in patchcore
    assert "coresets of" in patchcore and "peak ≈" in patchcore
    assert not [n for n in notices if "patchcore on mvtec" in n]  # 391 images fit in one pass within 8 GiB
    (padim,) = [n for n in notices if n.startswith("notice: padim on cifar10")]
    assert "the embeddings of 5,000 images (550 channels × 4,096 positions, 42.0 GiB" in padim
    # MVTec too: 391 images' embeddings (3.3 GiB) and three 4.6-GiB sets of covariances
    assert any(n.startswith("notice: padim on mvtec: about 17.1 GiB") for n in notices)
    with pytest.raises(UserError, match="method patchcore on cifar10: memory_budget_gib=2 cannot hold"):
        resource_notices(select("patchcore", "cifar10", profile="paper", overrides=["patchcore.memory_budget_gib=2"]))
    unbounded = resource_notices(select("patchcore", "cifar10", profile="paper",
                                        overrides=["patchcore.memory_budget_gib=null"]))
    assert "one coreset pass over all of them" in unbounded[0] and "keeps every vector" in unbounded[0]


def test_a_plan_carries_the_notices(tmp_path):
    from tests.conftest import registered

    digits = registry.datasets.get("digits").factory

    class LargeDigits(digits):
        max_train_images = 20000

    with registered(registry.datasets, "large-digits", LargeDigits):
        plan = make_plan("patchcore", "large-digits", classes="0", data_root=tmp_path,
                         overrides=["patchcore.image_size=256", "patchcore.memory_budget_gib=6"])
    assert any("patchcore on large-digits: memory bank of 20,000 images" in n for n in plan.notices)
