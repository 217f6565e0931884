"""Sentences for a sweep that stops when settled: what its latest look decided, per effect.

Input: the look's record as `ablate.report.data.load.Design.settle` reads it from the
parent (`settle.json`, written by `ablate.sweep.settling`). Pure.

- stopped, nothing open:  "stopped at 4 seeds of at most 12: every effect of test accuracy
                           is settled (alpha spent over the looks: README, Until settled)"
- stopped at max:         "stopped at the most seeds, 12: 1 effect of test accuracy still open"
- still running:          "after 5 seeds of at most 12: 1 settled, 1 open; running seed block 6"
- better / worse:         "stride 3 vs 1: settled at 4 seeds: worse by 9.3 points (95% CI
                           -12.1 to -6.5)"
- equivalent:             "kernel 4x4 vs 3x3: settled at 6 seeds: equivalent within ±1.0
                           point (95% CI -0.4 to +0.6)"
- open:                   "stride 2 vs 1: still open at 12 seeds: interval −0.8 to +1.9"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ablate.stats.model import factor_name, level_label

MINUS = "\u2212"  # a real minus sign, as the page writes negative interval ends


def _num(x: float, sign: bool = False) -> str:
    text = f"{x:+.1f}" if sign else f"{x:.1f}"
    if text.lstrip("+-") == "0.0":
        text = "0.0"
    return text.replace("-", MINUS)


def _interval(effect: Mapping[str, Any]) -> str | None:
    lo, hi = effect.get("lo"), effect.get("hi")
    if lo is None or hi is None:
        return None
    return f"{_num(lo, True)} to {_num(hi, True)}"


def _seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def effect_sentence(effect: Mapping[str, Any], unit: str, stopped: bool) -> str:
    """One effect's decision, e.g. 'stride 3 vs 1: settled at 4 seeds: worse by 9.3 points'."""
    key = str(effect["factor"])
    name = factor_name(key)
    what = f"{name} {level_label(key, effect['level'])} vs {level_label(key, effect['baseline'])}"
    state, seeds = str(effect["state"]), int(effect["seeds"])
    interval = _interval(effect)
    unit_s = f" {unit}" if unit else ""
    if state == "open":
        where = "still open at" if stopped else "open after"
        tail = f": interval {interval}" if interval else ": no interval yet"
        return f"{what}: {where} {_seeds(seeds)}{tail}"
    ci = f" (95% CI {interval})" if interval else ""
    if state == "equivalent":
        margin = float(effect.get("margin") or 0.0)
        one = unit_s.rstrip("s") if margin == 1.0 and unit_s.endswith("s") else unit_s
        return f"{what}: settled at {_seeds(seeds)}: equivalent within ±{margin:.1f}{one}{ci}"
    size = abs(float(effect.get("estimate") or 0.0))
    return f"{what}: settled at {_seeds(seeds)}: {state} by {_num(size)}{unit_s}{ci}"


def settle_sentences(record: Mapping[str, Any] | None) -> list[str]:
    """Where the sweep stands, then one sentence per effect (the record's order)."""
    if not record:
        return []
    effects: Sequence[Mapping[str, Any]] = record.get("effects", [])
    label = str(record.get("label", "test accuracy"))
    seeds, top = int(record["seeds"]), int(record["max"])
    open_ = int(record.get("open", 0))
    if record.get("stopped") and open_ == 0:
        head = (
            f"stopped at {_seeds(seeds)} of at most {top}: every effect of {label} is "
            "settled (alpha spent over the looks: README, Until settled)"
        )
    elif record.get("stopped"):
        head = f"stopped at the most seeds, {top}: {open_} effect(s) of {label} still open"
    else:
        head = (
            f"after {_seeds(seeds)} of at most {top}: {record.get('settled', 0)} settled, "
            f"{open_} open; running seed block {record.get('planned', seeds + 1)}"
        )
    unit = str(record.get("unit", ""))
    stopped = bool(record.get("stopped"))
    return [head, *(effect_sentence(e, unit, stopped) for e in effects)]
