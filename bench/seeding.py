"""Seeds: every cell starts from its seed, and seeded blocks do not disturb the rest."""

from __future__ import annotations

import contextlib
import random

import numpy as np


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def seeded(seed: int, device: str = "cpu"):
    """Run a block with torch's generators (CPU, and `device`'s if a GPU) seeded by `seed`,
    restoring their state afterwards."""
    import torch

    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
