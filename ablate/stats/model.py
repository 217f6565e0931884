"""The report's data, as plain values: what the loader reads from MLflow, what the
statistics return, and what the page renders. No I/O and no heavy imports here.

Flow: `ablate.report.data` (MLflow -> `SweepData` -> `RunRow`s and the runs table)
-> `ablate.stats` (cells, effects, noise) -> `ablate.report.findings`
(sentences) -> `ablate.report.figures` (SVG) and `ablate.report.page` (one HTML file);
`ablate.report.build` composes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from ablate.store import RunState

# a design point with no run yet; every other row has a run and its `ablate.store.RunState`
MISSING: Literal["missing"] = "missing"
RowState: TypeAlias = RunState | Literal["missing"]
# better/worse: the difference test (Holm); equivalent: TOST within +-margin (Holm);
# no clear difference: neither; n = 1: no interval; exact: a deterministic response
# (constant within every cell), stated as a difference, never tested
Verdict = Literal["better", "worse", "equivalent", "no clear difference", "n = 1", "exact"]
EffectMethod = Literal["paired", "welch", "none", "exact"]

# short names of factors in sentences and axis labels; others use the last dotted part
FACTOR_NAMES = {"model.kernel_size": "kernel", "model.head": "head"}


def factor_name(key: str) -> str:
    """'model.stride' -> 'stride', 'model.kernel_size' -> 'kernel'."""
    return FACTOR_NAMES.get(key, key.split(".")[-1])


def level_label(key: str, value: Any) -> str:
    """How a factor level reads on the page: kernel 3 -> '3x3', head 'gap' -> 'GAP'."""
    if key == "model.kernel_size":
        return f"{value}x{value}"
    if key == "model.head":
        return {"gap": "GAP", "flatten": "flatten"}.get(str(value), str(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Factor:
    """A factor the sweep varies, its levels in the space file's order."""

    key: str  # dotted config key, e.g. "model.stride"; a column of the runs table
    levels: tuple[Any, ...]  # grid values (or scientific values) in file order
    role: Literal["grid", "scientific", "nuisance"] = "grid"

    @property
    def name(self) -> str:
        return factor_name(self.key)


@dataclass(frozen=True)
class Response:
    """A number compared across configurations: a column of the runs table."""

    key: str  # column, e.g. "test_acc", "train_seconds", "xai.gradcam.insertion_vs_random"
    label: str  # e.g. "test accuracy"
    unit: str  # unit after scaling, e.g. "points", "s", "MFLOP"
    scale: float = 1.0  # display value = raw * scale (accuracy 0..1 -> points: 100)
    higher_is_better: bool = True
    group: Literal["accuracy", "cost", "explanations"] = "accuracy"


@dataclass(frozen=True)
class Interval:
    """Mean, SD and n of some values with a two-sided t-interval (None where n < 2)."""

    mean: float
    sd: float  # sample SD (ddof=1); NaN where n < 2
    n: int
    lo: float | None
    hi: float | None
    level: float = 0.95
    # why there is no interval although n >= 2 ("" otherwise): e.g. the runs are tuned
    # trials, different configurations at one seed each, not repeated seeds of one
    why: str = ""


def is_finite(x: float | None) -> bool:
    """A number that is neither None, NaN nor infinite."""
    return x is not None and math.isfinite(x)


def finite(values: Iterable[float | None] | None) -> list[float]:
    """The finite ones of `values`, as floats."""
    return [float(v) for v in values or [] if v is not None and math.isfinite(float(v))]


def has_interval(iv: Interval | None) -> bool:
    """An interval with both ends (an n = 1 cell has none)."""
    return iv is not None and is_finite(iv.lo) and is_finite(iv.hi)


@dataclass(frozen=True)
class Effect:
    """A contrast on one response, in display units (raw * response.scale).

    Main effect: `level` against `baseline` of `factor`, estimate = level - baseline.
    Interaction: factor "a*b", level "(a1, b1)", baseline "(a0, b0)", estimate =
    (y[a1,b1] - y[a0,b1]) - (y[a1,b0] - y[a0,b0]).
    """

    response: str  # Response.key
    factor: str  # Factor.key, or "a*b" for an interaction
    level: Any
    baseline: Any
    estimate: float
    lo: float | None  # 95% t-interval; None where n = 1
    hi: float | None
    n: int  # pairs (paired), or runs at level + baseline (welch)
    method: EffectMethod
    seeds: int  # seeds per cell (smallest over the cells involved)
    p: float | None = None
    p_holm: float | None = None  # Holm-adjusted over the response's contrasts on the page
    lo_holm: float | None = None  # interval at the Holm step's level
    hi_holm: float | None = None
    verdict: Verdict = "n = 1"
    excluded_contexts: int = 0  # contexts lacking one of the two levels (e.g. invalid points)
    # equivalence (TOST, `ablate.stats.equivalence`): None where the response has no margin
    margin: float | None = None  # practical margin, display units: equivalent within +-margin
    p_equiv: float | None = None  # TOST p: the larger of the two one-sided p
    p_equiv_holm: float | None = None  # Holm-adjusted over the equivalence family
    lo_equiv: float | None = None  # the 1 - 2 alpha / (m - k) interval of Holm's step that
    hi_equiv: float | None = None  # TOST reads (90% in a family of one); inside +-margin
    # seeds per cell that would detect a difference of one margin with 80% power (this
    # effect's own SE scaled by seeds): what would settle a "no clear difference"
    seeds_needed: int | None = None


@dataclass(frozen=True)
class SeedNoise:
    """How noisy one response is across seeds, pooled over cells."""

    response: str
    pooled_sd: float  # display units; NaN where no cell has 2 seeds
    df: int
    seeds: int  # seeds per cell now
    mde: float | None  # minimum detectable paired difference at `seeds`, alpha 0.05, power 0.8
    seeds_for: float  # the difference in display units the next number is for (1 point)
    seeds_needed: int | None  # seeds per cell to detect `seeds_for`
    # why pooled_sd is NaN ("" where it is known): no cell has 2 seeds, or the runs are tuned
    # trials (different configurations, one seed each), not repeated seeds of one
    why: str = ""


@dataclass(frozen=True)
class RunRow:
    """One child run of the sweep, as the report sees it."""

    run_id: str
    name: str
    state: RowState
    reason: str  # why failed / skipped / pruned / killed; "" otherwise
    factors: dict[str, Any]  # Factor.key -> value
    seed: int
    metrics: dict[str, float]  # final metrics, plus derived xai.*_vs_random
    # per epoch: train_loss, train_acc, val_loss, val_acc
    curves: dict[str, list[float]] = field(default_factory=dict)
    start_time: float | None = None  # unix seconds
    end_time: float | None = None
    url: str | None = None  # link into the MLflow UI when --ui-url is given


@dataclass(frozen=True)
class Provenance:
    experiment: str
    parent_run_id: str
    space_file: str
    space_sha256: str
    git_commit: str
    command: str
    hardware: str  # CPU model (and flags summary), GPU if any
    accelerator: str
    started: float | None  # unix seconds
    finished: float | None
    compute_seconds: float  # sum of child run wall times
    tracking_uri: str  # with any password masked
    parent_url: str | None = None


@dataclass(frozen=True)
class GalleryCell:
    """One probe image explained by one configuration (its first finished seed)."""

    png: bytes | None  # small heat-map overlay PNG; None = n/a (e.g. CAM on a flatten head)
    predicted: str
    confidence: float
    mistake: bool


@dataclass(frozen=True)
class GalleryColumn:
    config: str  # configuration label, e.g. "stride=1"
    run_id: str
    feature_map: str  # size of the map Grad-CAM/CAM use, e.g. "8x8"; "" if unknown
    cells: dict[str, list[GalleryCell]]  # method -> one cell per probe image (gallery row)
    na: dict[str, str]  # method -> why it does not apply (e.g. "CAM needs a GAP head")


@dataclass(frozen=True)
class Gallery:
    methods: tuple[str, ...]
    images: list[bytes]  # the probe images as PNG, one per row
    labels: list[str]  # true class of each row
    indices: list[int]  # test-set index of each row
    columns: list[GalleryColumn]
    normalisation: str  # how maps are scaled (from explain.postprocess.CONVENTION)


@dataclass(frozen=True)
class FaithCurves:
    """Mean deletion/insertion curves of one configuration for one method."""

    config: str
    method: str
    fractions: list[float]
    deletion: list[float]
    insertion: list[float]
    deletion_random: list[float]
    insertion_random: list[float]


@dataclass(frozen=True)
class ScientificRow:
    """Scientific vs nuisance (Optuna): the best nuisance setting of one scientific value."""

    scientific: dict[str, Any]  # e.g. {"model.stride": 2}
    nuisance: dict[str, Any]  # the chosen setting, e.g. {"train.lr": 0.0021}
    val: Interval  # validation metric over that setting's seeds (chosen on this mean)
    test: Interval  # its test accuracy over the same runs
    trials: int  # trials of this scientific value
    edge_warnings: list[str]  # e.g. "train.lr = 0.0098 is at the top of its range [0.0001, 0.01]"


@dataclass(frozen=True)
class OptunaFigures:
    """Optuna's own matplotlib plots, rendered to inline SVG text."""

    history_svg: str
    importances_svg: str  # "" where there are too few trials
    parallel_svg: str
    note: str  # e.g. "importances are fANOVA estimates (seed 0); they vary with the trials"


@dataclass(frozen=True)
class Report:
    """Everything the page shows, computed; `ablate.report.page` only lays it out."""

    provenance: Provenance
    kind: Literal["grid", "optuna"]
    factors: list[Factor]
    seeds: list[int]
    responses: list[Response]
    runs: list[RunRow]  # every child run, plus "missing" rows for design points not yet run
    cells: dict[str, dict[str, Interval]]  # response key -> config label -> interval over seeds
    # response -> config -> seed values (display units)
    cell_values: dict[str, dict[str, list[float]]]
    config_factors: dict[str, dict[str, Any]]  # config label -> its factor values
    effects: list[Effect]  # main effects, every response
    interaction: tuple[str, str] | None  # the two factor keys of the interaction plot
    interactions: list[Effect]
    noise: list[SeedNoise]
    findings: list[str]
    warnings: list[str]  # things the reader must know (runs still running, missing points...)
    baseline: dict[str, Any]  # factor key -> baseline level
    classes: list[str]
    confusion: dict[str, list[list[float]]]  # config label -> mean confusion matrix (rows: true)
    gallery: Gallery | None
    faith_curves: list[FaithCurves]
    scientific: list[ScientificRow] = field(default_factory=list)
    optuna: OptunaFigures | None = None
    generated: float = 0.0  # unix seconds
