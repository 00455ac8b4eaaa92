"""Pretrained backbones by name, with weights that resolve offline.

`weights` is one of:
- `"random"`: random initialisation (only smoke profiles use it; the run's seed fixes it);
- a torchvision weight name such as `"IMAGENET1K_V1"`: the file torchvision would download,
  looked up in the torch hub cache (`$TORCH_HOME/hub/checkpoints`) and never downloaded here;
- a path to a `.pth` state dict.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.detector import Requirement
from bench.errors import UserError

RANDOM = "random"

# backbone name → width of its pooled feature
FEATURE_DIMS = {
    "resnet18": 512,
    "resnet34": 512,
    "resnet50": 2048,
    "resnet101": 2048,
    "resnet152": 2048,
    "wide_resnet50_2": 2048,
}


def check_backbone_name(name: str) -> None:
    if name not in FEATURE_DIMS:
        raise UserError(f"unknown backbone {name!r}: choose one of {', '.join(FEATURE_DIMS)}")


def torch_hub_checkpoints() -> Path:
    """Where torchvision keeps downloaded weights, without importing torch."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def weights_file(backbone: str, weights: str) -> Path:
    """The file that holds `weights` for `backbone` (which may not exist yet)."""
    if weights.endswith((".pth", ".pt")) or os.sep in weights:
        return Path(weights).expanduser()
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(backbone)[weights]
    except KeyError:
        names = ", ".join(w.name for w in get_model_weights(backbone))
        raise UserError(f"{backbone} has no weights {weights!r}: use one of {names}, '{RANDOM}' or a .pth path")
    return torch_hub_checkpoints() / os.path.basename(enum.url)


def weights_requirement(backbone: str, weights: str) -> list[Requirement]:
    """The weights file as a plan-time requirement ([] for random weights)."""
    check_backbone_name(backbone)
    if weights == RANDOM:
        return []
    path = weights_file(backbone, weights)
    how = (
        f"on a machine with internet run python -c \"import torchvision; "
        f"torchvision.models.get_model('{backbone}', weights='{weights}')\" and copy {path.name} to {path.parent}"
    )
    return [Requirement(f"pretrained weights {backbone} ({weights})", path, how, param="weights")]


def load_backbone(backbone: str, weights: str, device: str):
    """A network that maps a batch of images to pooled features, in eval mode on `device`."""
    import torch
    from torchvision.models import get_model

    check_backbone_name(backbone)
    model = get_model(backbone, weights=None)
    if weights != RANDOM:
        path = weights_file(backbone, weights)
        if not path.exists():
            raise UserError(f"pretrained weights {backbone} ({weights}) not found at {path}")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.fc = torch.nn.Identity()
    return model.eval().to(device)
