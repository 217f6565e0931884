"""Probe-set choice and most confident mistakes (pure functions)."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explain.probe import most_confident_mistakes, probe_indices

labels_strategy = st.lists(st.integers(0, 4), min_size=0, max_size=60).map(
    lambda xs: torch.tensor(xs, dtype=torch.long)
)


@settings(max_examples=80, deadline=None)
@given(labels=labels_strategy, per_class=st.integers(1, 5), seed=st.integers(0, 1000))
def test_probe_indices_properties(labels: torch.Tensor, per_class: int, seed: int) -> None:
    idx = probe_indices(labels, per_class, seed)
    assert idx.dtype == torch.long
    assert torch.equal(idx, probe_indices(labels.clone(), per_class, seed))  # deterministic
    assert len(set(idx.tolist())) == len(idx)  # no repeats
    for c in torch.unique(labels).tolist():
        chosen = (labels[idx] == c).sum().item()
        assert chosen == min(per_class, int((labels == c).sum()))
    # ordered by class, then index
    keys = [(int(labels[i]), int(i)) for i in idx]
    assert keys == sorted(keys)


def test_probe_indices_depend_on_seed() -> None:
    labels = torch.arange(1000) % 10
    a, b = probe_indices(labels, 2, 0), probe_indices(labels, 2, 1)
    assert len(a) == 20 and not torch.equal(a, b)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 40),
    classes=st.integers(2, 6),
    k=st.integers(0, 10),
    seed=st.integers(0, 1000),
)
def test_most_confident_mistakes_properties(n: int, classes: int, k: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    probs = torch.rand(n, classes, generator=g).softmax(dim=1)
    labels = torch.randint(0, classes, (n,), generator=g)
    idx = most_confident_mistakes(probs, labels, k)
    conf, pred = probs.max(dim=1)
    wrong = (pred != labels).nonzero().flatten()
    assert len(idx) == min(k, len(wrong))
    assert all(pred[i] != labels[i] for i in idx)
    picked = conf[idx]
    assert torch.all(picked[:-1] >= picked[1:])  # most confident first
    if len(idx):  # nothing left out is more confident than the last one kept
        rest = set(wrong.tolist()) - set(idx.tolist())
        assert all(conf[i] <= picked[-1] for i in rest)


def test_most_confident_mistakes_example() -> None:
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = torch.tensor([1, 1, 1, 0])
    assert most_confident_mistakes(probs, labels, 2).tolist() == [0, 3]
    assert most_confident_mistakes(probs, labels, 0).tolist() == []
