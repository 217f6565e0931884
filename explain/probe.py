"""Which test images get explained: a fixed probe set and each run's worst mistakes (pure)."""

from __future__ import annotations

import torch

# classes: a dataset with more (CIFAR-100) is probed on this many of them, drawn with the
# seed, so that every run's explanations stay a few seconds' work and the gallery a page
MAX_PROBE_CLASSES = 20


def probe_indices(
    labels: torch.Tensor, per_class: int, seed: int, max_classes: int = MAX_PROBE_CLASSES
) -> torch.Tensor:
    """`per_class` indices of each class, drawn with a seeded generator; same labels -> same set.

    Ordered by class, then by index. A class with fewer images contributes all of them.
    With more than `max_classes` classes, a seeded draw of `max_classes` of them is probed
    (CIFAR-10's ten are all kept). Depends only on (labels, per_class, seed, max_classes),
    so every run of a sweep gets the same probe.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    labels = labels.detach().cpu().long().reshape(-1)
    classes = torch.unique(labels)
    if len(classes) > max_classes:
        # its own generator: the draw of images below stays what it is for <= max_classes
        pick = torch.randperm(len(classes), generator=torch.Generator().manual_seed(seed))
        classes = classes[pick[:max_classes]].sort().values
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in classes.tolist():
        members = torch.nonzero(labels == c).flatten()
        # a class's draw depends on the generator's draws for earlier classes, which
        # are fixed by the labels, so the result is deterministic
        pick = members[torch.randperm(len(members), generator=g)[:per_class]]
        chosen.append(pick.sort().values)
    if not chosen:
        return torch.empty(0, dtype=torch.long)
    return torch.cat(chosen)


def most_confident_mistakes(probs: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of at most k misclassified rows, highest predicted-class probability first.

    probs: (N, C) class probabilities; labels: (N,) true classes. Ties keep index order.
    """
    if probs.dim() != 2 or labels.shape != probs.shape[:1]:
        raise ValueError(
            f"probs (N, C) and labels (N,) expected, got {probs.shape}, {labels.shape}"
        )
    conf, pred = probs.detach().max(dim=1)
    wrong = torch.nonzero(pred != labels.to(pred.device)).flatten()
    if k <= 0 or wrong.numel() == 0:
        return torch.empty(0, dtype=torch.long)
    order = torch.sort(conf[wrong], descending=True, stable=True).indices
    return wrong[order[:k]].cpu()
