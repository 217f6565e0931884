"""Findings: plain sentences that claim only what the Holm-corrected intervals support.

Input: effects after `stats.holm` (main effects and interaction contrasts, any order),
the responses, and optionally the seed noise. Output order: accuracy responses first,
then cost, then explanations (within a group, in the order of `responses`); within a
response, main effects by |estimate| descending, then interactions, then seed noise.

The *headline* response is the first accuracy response; its sentences name no
response. Every other response says "on <label>". Intervals are the 95% t-intervals
of the effect; a winner-first sentence flips the interval so the magnitude is positive.

Templates (`name` = factor_name, levels = level_label, {ci} = "95% CI lo to hi,
k seeds, paired|welch"):

- headline, better/worse:      "stride 1 beats stride 3 by 13.2 points ({ci})"
- other, better/worse:         "stride 3 beats stride 1 on train time: 52.9 s less ({ci})"
                               ("more"/"less" after an amount with a unit, "higher"/
                               "lower" after a bare score: "0.121 higher")
- accuracy, no clear difference:
                               "kernel 4x4 vs 3x3: no clear difference (-0.4 to +0.9)"
  (when the 95% interval excludes 0 but Holm's correction does not:
                               "... no clear difference after Holm correction (+0.1 to +1.6)")
  with a margin, what would settle it is added:
                               "...; about 14 seeds would settle it (80% power for a 1.0-point
                               difference)"
- equivalent (TOST within the margin, Holm):
                               "kernel 4x4 vs 3x3: equivalent within ±1.0 point (-0.4 to +0.3,
                               TOST interval, 3 seeds, paired)"
  (the interval is the one the TOST reads: 90% in a family of one, wider at Holm's steps)
- better/worse also inside the margin: the sentence ends ", within the ±1.0 point margin"
- exact (a deterministic response, never tested):
                               "stride 3 has 40,320 fewer parameters than stride 1 (exact)"
                               (counts: unit "thousand"), else "stride 3 vs 1 on FLOPs per
                               image: 12.3 MFLOP less (exact)"; a zero gap gives no sentence
- headline, n = 1:             "stride 2 vs 1: n = 1, no interval; run more seeds (seeds: 3)"
- interaction, better/worse:   "stride x head interaction: the stride 3 − 1 gap changes by
                               +4.1 points with GAP vs flatten ({ci})"
- seed noise (headline only):  "seed noise: SD 0.4 points per cell; at 3 seeds the smallest
                               detectable difference is 1.6 points; 6 seeds would detect 1 point"
  (exact noncentral-t power; tuned trials without repeated seeds: "seed noise: unknown,
  no repeated seeds of one configuration: ...; confirmation seeds give them")

Cost and explanation responses get sentences only for better/worse, equivalent and
exact verdicts; the n = 1 advice is given once, on the headline response.
Numbers: one decimal for "points"; otherwise three significant digits, thousands
separated from 10,000 on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ablate.stats import ALPHA, TUNED_TRIALS
from ablate.stats.model import Effect, Response, SeedNoise, factor_name, level_label

GROUP_ORDER = {"accuracy": 0, "cost": 1, "explanations": 2}
RECOMMENDED_SEEDS = 3  # what the n = 1 sentence tells the user to set


def _decimals(response: Response, magnitude: float) -> int:
    """Decimals to show: 1 for points, else enough for 3 significant digits of `magnitude`."""
    if response.unit == "points":
        return 1
    if magnitude == 0 or not math.isfinite(magnitude):
        return 1
    return max(0, min(6, 2 - math.floor(math.log10(abs(magnitude)))))


def _num(x: float, d: int, sign: bool = False) -> str:
    """A number with d decimals, thousands separated from 10,000, optional explicit sign."""
    if round(x, d) == 0:
        x = 0.0  # no "-0.0"
    comma = "," if abs(x) >= 10_000 else ""
    plus = "+" if sign and x != 0 else ""
    return f"{x:{plus}{comma}.{d}f}"


def _amount(x: float, d: int, response: Response) -> str:
    return f"{_num(x, d)} {response.unit}" if response.unit else _num(x, d)


def _ci(lo: float, hi: float, d: int, e: Effect) -> str:
    seeds = f"{e.seeds} seed" + ("" if e.seeds == 1 else "s")
    return f"95% CI {_num(lo, d)} to {_num(hi, d)}, {seeds}, {e.method}"


def _on(response: Response, headline: bool) -> str:
    return "" if headline else f" on {response.label}"


def _margin_text(margin: float, response: Response) -> str:
    """'±1.0 point', '±0.5 points', '±5 s', '±0.02'."""
    d = _decimals(response, margin)
    if response.unit == "points":
        return f"±{_num(margin, d)} point" + ("" if margin == 1 else "s")
    return f"±{_amount(margin, d, response)}"


def _exact_sentence(e: Effect, response: Response, headline: bool) -> str | None:
    """A deterministic response's gap, stated exactly (no interval, p or verdict)."""
    if e.estimate == 0.0 or not math.isfinite(e.estimate):
        return None
    name = factor_name(e.factor)
    lv, base = level_label(e.factor, e.level), level_label(e.factor, e.baseline)
    up = e.estimate > 0
    if response.unit == "thousand" and response.scale == 1e-3:  # a count: say it whole
        count = abs(e.estimate) / response.scale
        return (
            f"{name} {lv} has {round(count):,} {'more' if up else 'fewer'} {response.label} "
            f"than {name} {base} (exact)"
        )
    d = _decimals(response, abs(e.estimate))
    if headline:
        return f"{name} {lv} vs {base}: {_num(e.estimate, d, sign=True)} {response.unit} (exact)"
    word = ("more" if up else "less") if response.unit else ("higher" if up else "lower")
    return (
        f"{name} {lv} vs {base} on {response.label}: "
        f"{_amount(abs(e.estimate), d, response)} {word} (exact)"
    )


def _settle_text(e: Effect, response: Response) -> str:
    """'; about 14 seeds would settle it (80% power for a 1.0-point difference)'."""
    if e.margin is None:
        return ""
    d = _decimals(response, e.margin)
    size = (
        f"{_num(e.margin, d)}-point"
        if response.unit == "points"
        else _amount(e.margin, d, response)
    )
    if e.seeds_needed is None:
        return f"; more than 1000 seeds would be needed to settle it (a {size} difference)"
    need = max(e.seeds_needed, e.seeds + 1)
    return f"; about {need} seeds would settle it (80% power for a {size} difference)"


def _main_sentence(e: Effect, response: Response, headline: bool) -> str | None:
    name = factor_name(e.factor)
    lv, base = level_label(e.factor, e.level), level_label(e.factor, e.baseline)
    accuracy = response.group == "accuracy"
    if e.verdict == "exact":
        return _exact_sentence(e, response, headline)
    if e.verdict == "n = 1":
        if not headline:
            return None  # the same advice as the headline's
        return (
            f"{name} {lv} vs {base}{_on(response, headline)}: n = 1, no interval; "
            f"run more seeds (seeds: {RECOMMENDED_SEEDS})"
        )
    if e.lo is None or e.hi is None:
        return None
    if e.verdict == "no clear difference":
        if not accuracy:
            return None
        d = _decimals(response, max(abs(e.lo), abs(e.hi)))
        after = " after Holm correction" if e.lo > 0 or e.hi < 0 else ""
        return (
            f"{name} {lv} vs {base}{_on(response, headline)}: no clear difference{after} "
            f"({_num(e.lo, d, sign=True)} to {_num(e.hi, d, sign=True)})"
            f"{_settle_text(e, response)}"
        )
    if e.verdict == "equivalent":
        if e.margin is None or e.lo_equiv is None or e.hi_equiv is None:
            return None
        d = _decimals(response, max(abs(e.lo_equiv), abs(e.hi_equiv), e.margin))
        seeds = f"{e.seeds} seed" + ("" if e.seeds == 1 else "s")
        return (
            f"{name} {lv} vs {base}{_on(response, headline)}: equivalent within "
            f"{_margin_text(e.margin, response)} ({_num(e.lo_equiv, d, sign=True)} to "
            f"{_num(e.hi_equiv, d, sign=True)}, TOST interval, {seeds}, {e.method})"
        )
    # better/worse: the winner first, the magnitude positive
    level_wins = e.verdict == "better"
    winner, loser = (lv, base) if level_wins else (base, lv)
    flip = e.estimate < 0  # the claim is about |level - baseline|: mirror its interval
    mag = abs(e.estimate)
    lo, hi = (-e.hi, -e.lo) if flip else (e.lo, e.hi)
    d = _decimals(response, mag)
    ci = _ci(lo, hi, d, e)
    inside = ""
    if e.margin is not None and e.p_equiv_holm is not None and e.p_equiv_holm < ALPHA:
        inside = f", within the {_margin_text(e.margin, response)} margin"
    if headline:
        return f"{name} {winner} beats {name} {loser} by {_amount(mag, d, response)} ({ci}){inside}"
    # the sign of winner - loser on the response itself
    up = (e.estimate > 0) == level_wins
    word = ("more" if up else "less") if response.unit else ("higher" if up else "lower")
    return (
        f"{name} {winner} beats {name} {loser} on {response.label}: "
        f"{_amount(mag, d, response)} {word} ({ci}){inside}"
    )


def _interaction_sentence(e: Effect, response: Response, headline: bool) -> str | None:
    if e.verdict not in ("better", "worse") or e.lo is None or e.hi is None:
        return None
    ka, kb = e.factor.split("*", 1)
    (a1, b1), (a0, b0) = e.level, e.baseline
    d = _decimals(response, abs(e.estimate))
    amount = _num(e.estimate, d, sign=True) + (f" {response.unit}" if response.unit else "")
    seeds = f"{e.seeds} seed" + ("" if e.seeds == 1 else "s")
    ci = f"95% CI {_num(e.lo, d, sign=True)} to {_num(e.hi, d, sign=True)}, {seeds}, {e.method}"
    return (
        f"{factor_name(ka)} x {factor_name(kb)} interaction{_on(response, headline)}: "
        f"the {factor_name(ka)} {level_label(ka, a1)} − {level_label(ka, a0)} gap changes by "
        f"{amount} with {level_label(kb, b1)} vs {level_label(kb, b0)} ({ci})"
    )


def noise_sentence(noise: SeedNoise, response: Response) -> str:
    """One sentence on seed noise: its SD, what the current seeds detect, what would."""
    unit = f" {response.unit}" if response.unit else ""
    if math.isnan(noise.pooled_sd) and noise.why == TUNED_TRIALS:
        return (
            f"seed noise: unknown, {TUNED_TRIALS}; confirmation seeds (confirm_seeds: 3) give them"
        )
    if math.isnan(noise.pooled_sd):
        return (
            "seed noise: unknown, no configuration has 2 seeds; "
            f"run more seeds (seeds: {RECOMMENDED_SEEDS})"
        )
    d = _decimals(response, noise.pooled_sd)
    seeds = f"{noise.seeds} seed" + ("" if noise.seeds == 1 else "s")
    if noise.mde is None:
        now = f"at {seeds} no difference is detectable"
    else:
        now = f"at {seeds} the smallest detectable difference is {_num(noise.mde, d)}{unit}"
    target = f"{noise.seeds_for:g}"
    target_unit = unit[:-1] if response.unit == "points" and noise.seeds_for == 1 else unit
    if noise.seeds_needed is None:
        need = f"more than 1000 seeds would be needed to detect {target}{target_unit}"
    else:
        need = f"{noise.seeds_needed} seeds would detect {target}{target_unit}"
    return f"seed noise: SD {_num(noise.pooled_sd, d)}{unit} per cell; {now}; {need}"


def _is_interaction(e: Effect) -> bool:
    return "*" in e.factor and isinstance(e.level, tuple)


def _size(e: Effect) -> float:
    return abs(e.estimate) if math.isfinite(e.estimate) else -1.0


def findings(
    effects: Sequence[Effect],
    responses: Sequence[Response],
    noise: Sequence[SeedNoise] | None = None,
) -> list[str]:
    """Sentences for the page's Findings section, in a stable order (see the module doc)."""
    ordered = sorted(enumerate(responses), key=lambda ir: (GROUP_ORDER.get(ir[1].group, 3), ir[0]))
    headline_key = next((r.key for r in responses if r.group == "accuracy"), None)
    noise_by = {n.response: n for n in noise or []}
    out: list[str] = []
    for _, r in ordered:
        headline = r.key == headline_key
        mine = [e for e in effects if e.response == r.key]
        mains = sorted((e for e in mine if not _is_interaction(e)), key=_size, reverse=True)
        inters = sorted((e for e in mine if _is_interaction(e)), key=_size, reverse=True)
        for e in mains:
            s = _main_sentence(e, r, headline)
            if s is not None:
                out.append(s)
        for e in inters:
            s = _interaction_sentence(e, r, headline)
            if s is not None:
                out.append(s)
        if headline and r.key in noise_by:
            out.append(noise_sentence(noise_by[r.key], r))
    return out
