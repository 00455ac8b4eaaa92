"""Losses that several methods share."""

from __future__ import annotations


def nt_xent(first, second, temperature: float):
    """NT-Xent over 2B rows (SimCLR): row i of `first` and row i of `second` are positives,
    every other row a negative; rows are L2-normalised here."""
    import torch
    import torch.nn.functional as F

    rows = F.normalize(torch.cat([first, second]), dim=1)
    n = len(first)
    similarity = rows @ rows.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(rows.device)
    return F.cross_entropy(similarity, positives)
