"""Deterministic responses: numbers the design fixes (parameters, FLOPs), or any metric
that does not vary across seeds of one configuration. They are stated as exact
differences, never tested: no interval, no p, no verdict, and no place in Holm's
family. Pure.

"Constant" means a spread within every configuration of at most `ttest.tolerance` of
the response's values (1e-9 relative to the largest |value|, at least 1e-9 absolute):
the same rule by which the t-tests already call a spread float rounding. A response
seen with only one seed per configuration is deterministic only if it is one of
`DESIGN_RESPONSES` (a single seed cannot show that a metric does not vary).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ablate.stats.contrast import Y, display, groups
from ablate.stats.model import Factor, Response
from ablate.stats.ttest import tolerance

# properties of the architecture: constant per configuration by construction
DESIGN_RESPONSES = frozenset({"params", "flops_per_image"})


def is_deterministic(df: pd.DataFrame, factors: Sequence[Factor], response: Response) -> bool:
    """True where `response` is constant within every configuration (every factor in
    `factors`, nuisance ones included, fixed), and either some configuration has two or
    more runs or the response is a design property (`DESIGN_RESPONSES`)."""
    if response.key not in df.columns:
        return False
    data = display(df, response)
    if data.empty:
        return False
    tol = tolerance(data[Y].to_numpy(float))
    keys = [f.key for f in factors if f.key in data.columns]
    repeated = False
    for _, g in groups(data, keys):
        y = g[Y].to_numpy(float)
        if not np.all(np.isfinite(y)) or float(np.ptp(y)) > tol:
            return False
        repeated = repeated or y.size >= 2
    return repeated or response.key in DESIGN_RESPONSES
