"""Which device cells run on: `auto`, `cpu`, `cuda` or `cuda:N`, checked where they run."""

from __future__ import annotations

import re

from bench.errors import UserError

DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device_name(device: str) -> str:
    """A device name that can be resolved later, on the machine the cells run on."""
    if not DEVICE.fullmatch(device):
        raise UserError(f"--device {device!r}: use cpu, cuda, cuda:N or auto")
    return device


def resolve_device(device: str) -> str:
    """`auto` → cuda when a GPU is visible, else cpu; a GPU asked for must be there."""
    if check_device_name(device) == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise UserError(f"--device {device} but no GPU is visible here: use --device cpu (or auto)")
    return device
