"""PANDA, MSC and Deep SVDD follow their recipes: losses fall, BatchNorm and frozen layers
stay as the recipe says, and the pieces match independent computations."""

import numpy as np
import pytest
import torch

from bench import registry
from bench.backbones import build_backbone, load_state_dict_into
from bench.context import RunContext
from bench.errors import UserError
from bench.seeding import seed_everything
from bench.training import train_only
from bench.losses import nt_xent


@pytest.fixture(scope="module")
def train():
    return registry.datasets.get("digits").factory().split(1, RunContext()).train


def fit(name, train, **params):
    cls = registry.methods.get(name).factory
    seed_everything(0)
    return cls(**{**cls.profiles["smoke"], **params}).fit(train, RunContext(seed=0))


def batchnorm_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}


def test_panda_loss_falls_bn_stays_frozen_and_only_layer3_4_train(train):
    initial = build_backbone("resnet18", "random", seed=0).state_dict()
    detector = fit("panda", train, epochs=4)
    history = detector.loss_history_
    assert len(history) == 4 and history[-1] < history[0]
    model = detector.network_
    assert not any(m.training for m in model.modules())
    after = model.state_dict()
    for key in batchnorm_state(model):
        assert torch.equal(after[key], initial[key]), f"running statistics {key} changed"
    changed = {k.split(".")[0] for k in after if "running_" not in k and "num_batches" not in k and not torch.equal(after[k], initial[k])}
    assert changed == {"layer3", "layer4"}


def test_msc_loss_falls_with_bn_frozen(train):
    initial = build_backbone("resnet18", "random", seed=0).state_dict()
    detector = fit("msc", train, epochs=4, trainable_layers=["layer3", "layer4"], lr=1e-2)
    assert detector.loss_history_[-1] < detector.loss_history_[0]
    after = detector.network_.state_dict()
    for key in batchnorm_state(detector.network_):
        assert torch.equal(after[key], initial[key])
    assert torch.equal(after["layer1.0.conv1.weight"], initial["layer1.0.conv1.weight"])
    assert not torch.equal(after["layer4.0.conv1.weight"], initial["layer4.0.conv1.weight"])
    assert np.allclose(np.linalg.norm(detector.bank_, axis=1), 1.0, atol=1e-5)  # unit features


def test_nt_xent_matches_its_definition():
    rng = torch.Generator().manual_seed(0)
    first, second = torch.randn(5, 8, generator=rng), torch.randn(5, 8, generator=rng)
    rows = torch.nn.functional.normalize(torch.cat([first, second]), dim=1).double()
    losses = []
    for i in range(10):
        positive = (i + 5) % 10
        others = [j for j in range(10) if j != i]
        logits = torch.stack([rows[i] @ rows[j] / 0.25 for j in others])
        losses.append(-(rows[i] @ rows[positive] / 0.25) + torch.logsumexp(logits, 0))
    assert float(nt_xent(first, second, 0.25)) == pytest.approx(float(torch.stack(losses).mean()), rel=1e-5)


def test_deep_svdd_losses_fall_and_centre_avoids_zero(train):
    detector = fit("deep-svdd", train)
    assert detector.ae_loss_history_[-1] < detector.ae_loss_history_[0]
    assert detector.loss_history_[-1] < detector.loss_history_[0]
    assert (detector.center_.abs() >= 0.1 - 1e-7).all()
    assert not any(m.training for m in detector.network_.modules())


def test_train_only_freezes_the_rest():
    model = build_backbone("resnet18", "random")
    parameters = train_only(model, ["layer4"])
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names and all(n.startswith("layer4.") for n in names)
    assert len(parameters) == len(names)
    with pytest.raises(ValueError, match="has no module layer9"):
        train_only(model, ["layer9"])


def test_anomalib_extractor_takes_torchvision_weights(tmp_path, train):
    path = tmp_path / "r18.pth"
    torch.save(build_backbone("resnet18", "random", seed=3).state_dict(), path)
    detector = fit("patchcore", train, weights=str(path))
    extractor = detector.module_.model.feature_extractor.feature_extractor
    assert torch.equal(extractor.state_dict()["conv1.weight"], torch.load(path)["conv1.weight"])
    assert "layer4.0.conv1.weight" not in extractor.state_dict()  # truncated after layer3
    fresh = build_backbone("resnet18", "random", seed=0)
    with pytest.raises(UserError, match="missing.pth not found"):
        load_state_dict_into(fresh, tmp_path / "missing.pth")


def test_deep_svdd_autoencoder_has_the_reference_xavier_init():
    from bench.methods.deep_svdd import build_networks

    torch.manual_seed(0)
    _, Autoencoder = build_networks(32, 128)
    autoencoder = Autoencoder()
    gain = torch.nn.init.calculate_gain("leaky_relu")
    layers = {"conv1": autoencoder.encoder.conv1, "conv3": autoencoder.encoder.conv3,
              "deconv1": autoencoder.deconv1, "deconv4": autoencoder.deconv4}
    for name, layer in layers.items():
        weight = layer.weight.detach()
        # torch's fan convention: dim 1 × receptive field in, dim 0 × receptive field out
        receptive = weight[0, 0].numel()
        fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
        bound = gain * (6.0 / (fan_in + fan_out)) ** 0.5
        assert float(weight.abs().max()) <= bound, name
        # a uniform on [-bound, bound] has std bound/√3; PyTorch's default init is far narrower
        assert float(weight.std()) == pytest.approx(bound / 3**0.5, rel=0.05), name
