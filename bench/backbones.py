"""Pretrained backbones by name, with weights that resolve offline.

`backbone` is a torchvision classification model with an `fc` head (`resnet18`, `resnet152`,
`wide_resnet50_2`, ...) or a timm model written `timm:<name>[.<tag>]`
(`timm:vit_base_patch16_224.orig_in21k`). The network returned maps images to pooled
features: torchvision's `fc` is replaced by the identity; timm models are built with
`num_classes=0`.

`weights` is one of:
- `"random"`: random initialisation, fixed by the run's seed (smoke profiles only);
- for torchvision, a weight name such as `"IMAGENET1K_V1"`: the file torchvision would
  download, looked up in the torch hub cache (`$TORCH_HOME/hub/checkpoints`);
- for timm, `"pretrained"`: the model's default checkpoint in the Hugging Face cache;
- a path to a `.pth`, `.pt`, `.bin` or `.safetensors` file.

Nothing downloads at run time; `bench prepare` fetches what a sweep needs beforehand.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from bench.requirements import Requirement
from bench.errors import UserError
from bench.seeding import seeded

RANDOM = "random"
PRETRAINED = "pretrained"
TIMM_PREFIX = "timm:"
WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


def is_timm(backbone: str) -> bool:
    return backbone.startswith(TIMM_PREFIX)


def is_path(weights: str) -> bool:
    return weights.endswith(WEIGHT_SUFFIXES) or os.sep in weights


def torch_hub_checkpoints() -> Path:
    """Where torchvision keeps downloaded weights, without importing torch."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def _torchvision_weights(backbone: str, weights: str):
    from torchvision.models import get_model_weights

    try:
        return get_model_weights(backbone)[weights]
    except ValueError:
        raise UserError(f"unknown backbone {backbone!r}: use a torchvision model name or timm:<name>") from None
    except KeyError:
        names = ", ".join(w.name for w in get_model_weights(backbone))
        raise UserError(f"{backbone} has no weights {weights!r}: use {names}, '{RANDOM}' or a file path") from None


def _timm_hub_id(backbone: str) -> str:
    from timm.models import get_pretrained_cfg

    name = backbone[len(TIMM_PREFIX):]
    config = get_pretrained_cfg(name)
    if config is None or not config.hf_hub_id:
        raise UserError(f"timm has no downloadable checkpoint for {name!r}: give weights as a file path")
    return config.hf_hub_id


def _hf_cached(repo_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def weights_file(backbone: str, weights: str) -> Path:
    """The file that holds `weights` for `backbone` (it may not exist yet)."""
    if is_path(weights):
        return Path(weights).expanduser()
    if is_timm(backbone):
        if weights != PRETRAINED:
            raise UserError(f"{backbone}: weights must be '{PRETRAINED}', '{RANDOM}' or a file path, not {weights!r}")
        repo_id = _timm_hub_id(backbone)
        from huggingface_hub import constants

        return _hf_cached(repo_id) or Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    return torch_hub_checkpoints() / os.path.basename(_torchvision_weights(backbone, weights).url)


def weights_requirement(backbone: str, weights: str) -> list[Requirement]:
    """The weights file as a plan-time requirement ([] for random weights)."""
    if weights == RANDOM:
        return []
    path = weights_file(backbone, weights)
    how = "run `bench prepare` with the same --methods and --profile on a machine with internet"
    if is_path(weights):
        how = "check the path"
    fetch = None if is_path(weights) else functools.partial(prepare_weights, backbone, weights)
    return [Requirement(f"pretrained weights {backbone} ({weights})", path, how, param="weights", fetch=fetch,
                        check=check_checkpoint_file)]


def check_checkpoint_file(path: Path) -> None:
    """Raise UserError unless `path` starts like a checkpoint — a safetensors file, or what
    `torch.save` writes (a zip archive; a pickle in the legacy format) — read from its first
    bytes only, at plan time."""
    if Path(path).is_dir():
        raise UserError(f"weights {path} is a folder: point weights at the checkpoint file")
    with open(path, "rb") as handle:
        start = handle.read(8)
    if Path(path).suffix == ".safetensors":
        if len(start) < 8 or int.from_bytes(start, "little") > 100 * 2**20:  # the JSON header's length
            raise UserError(f"weights {path} is not a safetensors file: download it again")
    elif not (start.startswith(b"PK\x03\x04") or start[:1] == b"\x80"):
        raise UserError(f"weights {path} is not a torch checkpoint (torch.save writes a zip archive): download it "
                        "again (`bench prepare`) or point weights at a state dict saved with torch.save")


def prepare_weights(backbone: str, weights: str, progress: bool = True) -> Path | None:
    """Download `weights` into the cache where `load_backbone` looks (needs internet)."""
    if weights == RANDOM or is_path(weights):
        return None
    if is_timm(backbone):
        from huggingface_hub import snapshot_download

        snapshot_download(_timm_hub_id(backbone), allow_patterns=["*.safetensors", "*.json"])
        return weights_file(backbone, weights)
    from bench.download import download

    entry = _torchvision_weights(backbone, weights)
    filename = os.path.basename(entry.url)
    mirror = os.environ.get("BENCH_WEIGHTS_MIRROR")  # a local copy of download.pytorch.org/models
    urls = [f"{mirror.rstrip('/')}/{filename}", entry.url] if mirror else [entry.url]  # the official one as fallback
    # torchvision names files <name>-<first hex digits of their sha256>.pth
    expected = re.search(r"-([0-9a-f]{8,})\.", filename).group(1)
    return download(urls, torch_hub_checkpoints() / filename, algorithm="sha256", expected=expected, progress=progress)


def _read_state_dict(path: Path) -> dict:
    import torch

    if not path.exists():
        raise UserError(f"weights file {path} not found: run `bench prepare` or fix the path")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a checkpoint, damaged, or pickled objects weights_only refuses
        import pickle

        first = ("not a torch checkpoint, or one holding pickled Python objects" if isinstance(error, pickle.UnpicklingError)
                 else str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__)
        raise UserError(f"weights file {path} is not a readable checkpoint ({first}): download it again "
                        "(`bench prepare`) or point weights at a state dict saved with torch.save") from None
    if not isinstance(state, dict):
        raise UserError(f"weights file {path} holds a {type(state).__name__}, not a state dict: save "
                        "model.state_dict() with torch.save")
    return state.get("state_dict", state)


def load_state_dict_into(model, path: Path, ignore_prefixes: tuple[str, ...] = ("fc.", "head.", "classifier.")) -> None:
    """Load a checkpoint whose keys match `model`, tolerating only a dropped classifier head and
    stages the model does not have (a truncated feature extractor)."""
    result = model.load_state_dict(_read_state_dict(path), strict=False)
    children = dict(model.named_children())
    unexpected = [
        k for k in result.unexpected_keys if k.split(".")[0] in children and not k.startswith(ignore_prefixes)
    ]
    if result.missing_keys or unexpected:
        raise UserError(
            f"{path.name} does not fit {type(model).__name__}: missing {result.missing_keys[:3]}, "
            f"unexpected {unexpected[:3]} — is it the checkpoint of another architecture?"
        )


def build_backbone(backbone: str, weights: str, *, seed: int = 0, **model_kwargs):
    """The network (CPU, eval mode) mapping images to pooled features. `model_kwargs` go to
    timm's `create_model` (image size, depth, dropout, ...)."""
    import torch

    with seeded(seed):  # random weights depend on the seed alone, not on earlier draws
        if is_timm(backbone):
            import timm

            model = timm.create_model(backbone[len(TIMM_PREFIX):], pretrained=False, num_classes=0, **model_kwargs)
        else:
            if model_kwargs:
                raise UserError(f"model options {', '.join(model_kwargs)} apply to timm:<name> backbones only")
            from torchvision.models import get_model

            try:
                model = get_model(backbone, weights=None)
            except ValueError:
                raise UserError(f"unknown backbone {backbone!r}: use a torchvision model name or timm:<name>") from None
            model.fc = torch.nn.Identity()
    if weights != RANDOM:
        load_state_dict_into(model, weights_file(backbone, weights))
    return model.eval()


def build_classifier(backbone: str, weights: str, *, seed: int = 0):
    """A torchvision classification network with its own head (`fc`), weights included
    (CPU, eval mode): the pretrained classifier a Fisher information is taken of."""
    if is_timm(backbone):
        raise UserError(f"{backbone}: a pretrained classifier needs a torchvision backbone")
    from torchvision.models import get_model

    with seeded(seed):
        try:
            model = get_model(backbone, weights=None)
        except ValueError:
            raise UserError(f"unknown backbone {backbone!r}: use a torchvision model name") from None
    if weights != RANDOM:
        load_state_dict_into(model, weights_file(backbone, weights))
    return model.eval()


def load_backbone(backbone: str, weights: str, device: str, *, seed: int = 0):
    """`build_backbone` on `device`."""
    return build_backbone(backbone, weights, seed=seed).to(device)


# Channels of the four stages of torchvision's ResNets (layer1 … layer4); each stage halves the
# side, after a stem that quarters it (7×7 stride-2 convolution, 3×3 stride-2 max-pool).
RESNET_STAGE_CHANNELS = {
    "resnet18": (64, 128, 256, 512),
    "resnet34": (64, 128, 256, 512),
    **{name: (256, 512, 1024, 2048) for name in (
        "resnet50", "resnet101", "resnet152", "wide_resnet50_2", "wide_resnet101_2")},
}


def resnet_feature_maps(backbone: str, layers, image_size: int) -> list[tuple[int, int]] | None:
    """(channels, side) of each named stage's output (`layer1` … `layer4`) for a square
    `image_size` input to a torchvision ResNet — without building it (no torch import);
    None for another backbone. Every stride-2 step maps a side s to ⌈s/2⌉.

    >>> resnet_feature_maps("wide_resnet50_2", ["layer2", "layer3"], 256)
    [(512, 32), (1024, 16)]
    """
    channels = RESNET_STAGE_CHANNELS.get(backbone)
    if channels is None:
        return None
    maps = []
    for layer in layers:
        stage = int(str(layer).removeprefix("layer"))
        side = image_size
        for _ in range(stage + 1):  # stem (two halvings) and one per stage after layer1
            side = -(-side // 2)
        maps.append((channels[stage - 1], side))
    return maps
