"""The range a response can take, and intervals drawn inside it.

A t-interval is symmetric about the mean; the quantity is not always free to be. With
two seeds of train time 40 s and 160 s the 95% interval is about -660 to +860 s: the
lower end is arithmetic, not a time. The rule of the report's plots: **an interval of a
quantity that cannot be negative (accuracy, time, parameters, FLOPs, bytes) is drawn cut
at 0** (and an accuracy at 100%), and the plot says so where it cut one. The numbers in
the tables and CSVs are the t-intervals as computed; only the drawing is cut.
"""

from __future__ import annotations

import math

from ablate.stats.model import Response

# the groups whose responses cannot go below 0: accuracies (0..1 raw) and costs
NON_NEGATIVE_GROUPS = ("accuracy", "cost")


def response_bounds(response: Response) -> tuple[float, float]:
    """Lowest and highest value the response can take, in display units."""
    if response.group == "accuracy":
        return 0.0, 1.0 * response.scale  # a fraction of the test images
    if response.group == "cost":
        return 0.0, math.inf  # seconds, parameters, FLOPs, bytes
    return -math.inf, math.inf  # explanation scores are differences: either sign


def curve_bounds(metric: str) -> tuple[float, float]:
    """Training curves: losses (cross-entropy) and accuracies are never negative; an
    accuracy in percent is at most 100."""
    if metric.endswith("_acc"):
        return 0.0, 100.0
    return 0.0, math.inf


def clip(
    lo: float, hi: float, bounds: tuple[float, float], cuts: set[float] | None = None
) -> tuple[float, float]:
    """The interval drawn inside `bounds`; each bound it was cut at is added to `cuts`."""
    low, high = bounds
    if cuts is not None:
        cuts.update(b for b, hit in ((low, lo < low), (high, hi > high)) if hit)
    return max(lo, low), min(hi, high)


def cut_note(cuts: set[float]) -> str:
    """'cut at 0' (or 'cut at 0 and 100'): what a legend says of intervals it cut."""
    if not cuts:
        return ""
    return "cut at " + " and ".join(f"{b:g}" for b in sorted(cuts))
