"""What every benchmark script shares: recording its figures, and timing GPU work."""

from __future__ import annotations

import json
import time
from pathlib import Path

FIGURES = Path(__file__).parent / "figures"


def record(name: str, figures: dict) -> None:
    """Write `figures` to figures/<name>.json and print them."""
    FIGURES.mkdir(exist_ok=True)
    text = json.dumps(figures, indent=1)
    (FIGURES / f"{name}.json").write_text(text + "\n")
    print(text)


def cuda_seconds(fn) -> float:
    """Wall time of `fn()` with the GPU's queued work included."""
    import torch

    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start
