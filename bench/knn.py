"""Exact k-nearest-neighbour scoring, the kNN of DN2, PANDA, MSC and FITYMI.

score(x) = Σ over the k nearest bank vectors b of ‖x − b‖² — *squared* L2, as faiss'
IndexFlatL2 returns and the reference implementations sum. Computed exactly by batched
matrix products (float64 on the CPU, float32 on a GPU).
"""

from __future__ import annotations

import numpy as np


def knn_score(bank: np.ndarray, queries: np.ndarray, k: int = 2, *, device: str = "cpu", batch_size: int = 1024) -> np.ndarray:
    """Sum of squared L2 distances from each query row to its `k` nearest rows of `bank`."""
    import torch

    if bank.ndim != 2 or queries.ndim != 2 or bank.shape[1] != queries.shape[1]:
        raise ValueError(f"bank {bank.shape} and queries {queries.shape} must be 2-D with equal widths")
    if not 1 <= k <= len(bank):
        raise ValueError(f"k = {k} needs 1 ≤ k ≤ {len(bank)} bank vectors")
    dtype = torch.float64 if device == "cpu" else torch.float32
    bank_t = torch.as_tensor(bank, dtype=dtype, device=device)
    bank_sq = (bank_t * bank_t).sum(dim=1)
    scores = []
    for start in range(0, len(queries), batch_size):
        query = torch.as_tensor(queries[start : start + batch_size], dtype=dtype, device=device)
        squared = (query * query).sum(dim=1, keepdim=True) + bank_sq[None, :] - 2.0 * query @ bank_t.T
        nearest = squared.clamp_(min=0).topk(k, dim=1, largest=False).values
        scores.append(nearest.sum(dim=1).cpu())
    return torch.cat(scores).numpy().astype(np.float64)
