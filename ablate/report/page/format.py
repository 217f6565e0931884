"""How numbers, intervals, times and links read on the report page: small pure helpers.
Durations: `ablate.runtime.fmt_seconds`, the one formatter the terminal uses too."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from datetime import datetime, timezone

from ablate.runtime import fmt_seconds
from ablate.stats.model import Interval, is_finite

_HEX = re.compile(r"^#[0-9a-fA-F]{3,8}$")
GREY = "#888888"  # a level or configuration without a colour of its own


def fmt(x: float | None, digits: int = 2) -> str:
    """1.2345 -> '1.23'; None or NaN -> '–'."""
    return f"{x:.{digits}f}" if x is not None and is_finite(float(x)) else "–"


def signed(x: float | None, digits: int = 2) -> str:
    """1.2 -> '+1.20', -1.2 -> '−1.20'."""
    if x is None or not is_finite(float(x)):
        return "–"
    if round(x, digits) == 0:  # no "−0.00"
        return f"{0:.{digits}f}"
    return f"{x:+.{digits}f}".replace("-", "−")


def interval_text(lo: float | None, hi: float | None, digits: int = 2) -> str:
    """'−0.40 to +0.90', or '–' without an interval."""
    if not (is_finite(lo) and is_finite(hi)):
        return "–"
    return f"{signed(lo, digits)} to {signed(hi, digits)}"


def p_text(p: float | None) -> str:
    if p is None or not is_finite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def when(ts: float | None) -> str:
    """Unix seconds -> '2026-12-01 05:23 UTC'."""
    if not ts:
        return "–"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """4980 -> '1 h 23 min'; 252 -> '4 min 12 s'; 12.3 -> '12.3 s'."""
    return fmt_seconds(seconds, spaced=True)


def number(x: float | None, scale: float = 1.0, digits: int = 2) -> str:
    """A metric for a table, scaled; whole numbers get thousands separators."""
    if x is None or not is_finite(float(x)):
        return "–"
    v = float(x) * scale
    return f"{v:,.0f}" if digits == 0 else f"{v:.{digits}f}"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links leave the page (no javascript: or file: from a --ui-url)."""
    return url if url and re.match(r"^https?://", url, re.I) else None


def safe_color(hex_: str | None) -> str:
    """A hex colour for a style attribute; anything else reads grey."""
    return hex_ if hex_ and _HEX.match(hex_) else GREY


def digits_for(values: Sequence[float | None]) -> int:
    """Decimals that show the largest of `values` with 2-3 significant digits (2 to 4):
    points and seconds get 2, AUC differences of 0.01 get 4."""
    finite = [abs(v) for v in values if v is not None and is_finite(v) and v != 0]
    if not finite or max(finite) >= 1:
        return 2
    return min(4, max(2, 1 - math.floor(math.log10(max(finite)))))


def is_number(x: object) -> bool:
    """A finite int or float (not a bool): a runs-table column that sorts as numbers."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def plain_value(v: object) -> str:
    """0.002134 -> '0.00213'; 64 -> '64'; 'gap' -> 'gap'."""
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def interval_n_text(iv: Interval) -> str:
    """'81.20 [80.10, 82.30] (n = 3)'; a validation accuracy in 0..1 is shown in points."""
    # the best nuisance setting maximises a validation accuracy: 0..1 is shown in points
    s = 100.0 if is_finite(iv.mean) and abs(iv.mean) <= 1.0 else 1.0
    text = fmt(iv.mean * s)
    if iv.lo is not None and iv.hi is not None and is_finite(iv.lo) and is_finite(iv.hi):
        text += f" [{fmt(iv.lo * s)}, {fmt(iv.hi * s)}]"
    return f"{text} (n = {iv.n})"


def data_uri(png: bytes) -> str:
    """PNG bytes -> a `data:image/png;base64,...` URI for an <img src>."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
