"""The report's tests and Holm step-down against the libraries that define them.

The report computes t-tests with scipy (`ablate.stats`). Holm is the few lines
in `ablate.stats.adjust`, because statsmodels' `multipletests` runs
`gc.collect()` on every call (see that module's docstring); this file holds it to
statsmodels' numbers on random families, ties and NaN included. Here that `gc.collect()`
is switched off (1.7 s a call in a test process holding torch and MLflow): a collection
changes no p-value.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from ablate.stats import holm, t_interval
from ablate.stats.model import Effect

pytestmark = pytest.mark.unit


def effect(p: float, estimate: float = 1.0) -> Effect:
    return Effect("test_acc", "model.stride", 2, 1, estimate, 0.5, 1.5, 6, "paired", 3, p=p)


@pytest.mark.parametrize("seed", range(40))
def test_holm_equals_statsmodels_multipletests(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)  # multipletests' own call
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 12))
    ps = rng.uniform(0, 0.2, m)
    if m > 2:
        ps[1] = ps[0]  # a tie
    got = [e.p_holm for e in holm([effect(float(p)) for p in ps])]
    reject, want, _, _ = multipletests(ps, alpha=0.05, method="holm")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    verdicts = [e.verdict for e in holm([effect(float(p)) for p in ps])]
    assert [v == "better" for v in verdicts] == list(reject)


def test_t_interval_equals_scipy() -> None:
    x = [0.61, 0.63, 0.62, 0.60, 0.66]
    lo, hi = sps.ttest_1samp(x, 0.0).confidence_interval(0.95)
    got = t_interval(x)
    np.testing.assert_allclose([got.lo, got.hi], [lo, hi], rtol=0, atol=1e-12)
