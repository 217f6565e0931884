"""The report's plots: inline SVG that parses, labels its axes with units, names every
level, colours a level the same everywhere, stays small, and survives thin data."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import combinations

import matplotlib
import numpy as np
import optuna
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial
from report_fixture import CLASSES, HEAD, RESPONSES, STRIDE, interaction_cells, make_report
from scipy import stats as sps

from ablate.report import figures as plots
from ablate.report.data import level_colors
from ablate.stats.model import Interval, Report

ACC, SECONDS, FLOPS, XAI = RESPONSES
BUDGET = 60_000  # bytes per plot
SVG_NS = "{http://www.w3.org/2000/svg}"


def _builders(report: Report) -> dict[str, Callable[[], str]]:
    first, last = next(iter(report.confusion)), list(report.confusion)[-1]
    return {
        "effect stride": lambda: plots.effect_plot(report, STRIDE, ACC),
        "effect head": lambda: plots.effect_plot(report, HEAD, XAI),
        "interaction": lambda: plots.interaction_plot(
            report, STRIDE, HEAD, ACC, interaction_cells(report)
        ),
        "curves": lambda: plots.curves_plot(report, STRIDE, "val_acc"),
        "pareto": lambda: plots.pareto_plot(report, FLOPS, ACC),
        "confusion": lambda: plots.confusion_plot(report, [first, last]),
        "per class": lambda: plots.per_class_plot(report),
        "faith": lambda: plots.faith_curves_plot(report, "gradcam"),
    }


@pytest.fixture(scope="module")
def report() -> Report:
    return make_report()


@pytest.fixture(scope="module")
def svgs(report: Report) -> dict[str, str]:
    return {name: build() for name, build in _builders(report).items()}


def texts(svg: str) -> str:
    """Every <text> of the SVG, joined by spaces (wrapped labels read as one)."""
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


def hexes(svg: str) -> set[str]:
    return {h.lower() for h in re.findall(r"#[0-9A-Fa-f]{6}\b", svg)}


def overlapping_texts(fig: Figure, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap by more than about a pixel."""
    boxes = [(text, box.shrunk(0.98, 0.9)) for text, box in drawn_texts(fig, monkeypatch)]
    return [(a, b) for (a, ba), (b, bb) in combinations(boxes, 2) if ba.overlaps(bb)]


def drawn_texts(fig: Figure, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Bbox]]:
    """Every text Agg draws, with its box in pixels."""
    drawn: dict[int, Text] = {}
    draw_text = RendererAgg.draw_text

    def record(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # type: ignore[no-untyped-def]
        if mtext is not None and s.strip():
            drawn[id(mtext)] = mtext
        return draw_text(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    monkeypatch.setattr(RendererAgg, "draw_text", record)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer).shrunk(0.98, 0.9)) for t in drawn.values()]


# --------------------------------------------------------------------------- all plots


@pytest.mark.parametrize(
    "name",
    [
        "effect stride",
        "effect head",
        "interaction",
        "curves",
        "pareto",
        "confusion",
        "per class",
        "faith",
    ],
)
def test_every_plot_is_small_inline_svg_without_script(svgs: dict[str, str], name: str) -> None:
    svg = svgs[name]
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata" not in svg
    assert "<!--" not in svg and "<script" not in svg.lower()
    assert root.get("width") == "100%" and root.get("viewBox")
    assert "max-width:" in (root.get("style") or "")
    assert len(svg.encode()) < BUDGET
    assert root.find(f".//{SVG_NS}text") is not None  # text stays text (svg.fonttype none)
    assert "font-family" in (root.get("style") or "")
    for css in root.iter(f"{SVG_NS}style"):  # scoped to this plot, not the whole page
        for rule in re.findall(r"([^{}]+)\{", css.text or ""):
            assert rule.strip().startswith(f".{root.get('class')} "), rule


def test_ids_are_unique_across_plots_and_references_resolve(svgs: dict[str, str]) -> None:
    seen: set[str] = set()
    for svg in svgs.values():
        ids = re.findall(r'\sid="([^"]+)"', svg)
        assert len(ids) == len(set(ids))
        assert not seen & set(ids)
        seen |= set(ids)
        for ref in re.findall(r'(?:url\(|href=")#([^)"]+)', svg):
            assert ref in ids


def test_rendering_is_deterministic(report: Report) -> None:
    assert plots.effect_plot(report, STRIDE, ACC) == plots.effect_plot(report, STRIDE, ACC)


def test_nothing_is_written_to_disk_and_no_global_state_changes(
    report: Report, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rc = dict(matplotlib.rcParams)
    for build in _builders(report).values():
        build()
    assert list(tmp_path.iterdir()) == []
    assert dict(matplotlib.rcParams) == rc


FIGURES: dict[str, Callable[[Report], Figure]] = {
    "effect stride": lambda r: plots.effect_figure(r, STRIDE, ACC),
    "effect head": lambda r: plots.effect_figure(r, HEAD, XAI),
    "interaction": lambda r: plots.interaction_figure(r, STRIDE, HEAD, ACC, interaction_cells(r)),
    "curves": lambda r: plots.curves_figure(r, HEAD, "train_loss"),
    "pareto seconds": lambda r: plots.pareto_figure(r, SECONDS, ACC),
    "pareto flops": lambda r: plots.pareto_figure(r, FLOPS, ACC),
    "confusion": lambda r: plots.confusion_figure(r, list(r.confusion)[:2]),
    "per class": lambda r: plots.per_class_figure(r),
    "faith": lambda r: plots.faith_curves_figure(r, "gradcam"),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_no_text_overlaps_other_text(
    report: Report, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert overlapping_texts(FIGURES[name](report), monkeypatch) == []


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("name", list(FIGURES))
def test_no_text_is_clipped_by_the_figure_edge(
    name: str, full: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The margins are computed from the labels, not found by a layout engine: every
    label, legend entry and title is drawn wholly inside the figure."""
    fig = FIGURES[name](make_report(full=full))
    assert fig.get_layout_engine() is None  # no constrained layout: one draw per save
    edge = fig.bbox
    for text, box in drawn_texts(fig, monkeypatch):
        assert box.x0 >= edge.x0 and box.x1 <= edge.x1, (name, text)
        assert box.y0 >= edge.y0 and box.y1 <= edge.y1, (name, text)


def test_front_labels_are_placed_without_drawing_the_figure(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Label placement uses font metrics: building the Pareto figure draws nothing."""

    def no_draw(*args: object, **kwargs: object) -> None:
        raise AssertionError("the figure was drawn while being built")

    monkeypatch.setattr(Figure, "draw", no_draw)
    monkeypatch.setattr(Figure, "draw_without_rendering", no_draw)
    fig = plots.pareto_figure(report, FLOPS, ACC)
    monkeypatch.undo()
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "stride=1 head=GAP" in labels and "stride=3 head=GAP" in labels


# --------------------------------------------------------------------------- colours


def test_level_colors_are_distinct_hex_in_level_order_and_stable(report: Report) -> None:
    colours = level_colors(report)
    assert list(colours) == [STRIDE.key, HEAD.key]
    assert list(colours[STRIDE.key]) == ["1", "2", "3"]
    assert list(colours[HEAD.key]) == ["GAP", "flatten"]
    every = [c for levels in colours.values() for c in levels.values()]
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in every)
    assert len(set(every)) == len(every)  # 5 levels fit the palette: no level shares a colour
    assert level_colors(make_report(n_seeds=1)) == colours


def test_each_levels_dots_carry_that_levels_colour(report: Report) -> None:
    """Every finite seed value is one dot, in its level's colour."""
    colours = level_colors(report)[STRIDE.key]
    fig = plots.effect_figure(report, STRIDE, ACC)
    dots: dict[str, int] = {}
    for coll in fig.axes[0].collections:
        if isinstance(coll, PathCollection) and len(coll.get_facecolor()):
            face = to_hex(coll.get_facecolor()[0]).upper()
            dots[face] = dots.get(face, 0) + len(coll.get_offsets())
    for level in STRIDE.levels:
        n = sum(
            len(v)
            for c, v in report.cell_values[ACC.key].items()
            if report.config_factors[c][STRIDE.key] == level
        )
        assert dots[colours[str(level)]] == n


def test_level_bar_is_the_t_interval_over_seeds_of_the_level_mean(report: Report) -> None:
    """Each seed's values are averaged over the other factor (head), then a 95% t-interval
    is taken over the seeds."""
    fig = plots.effect_figure(report, STRIDE, ACC)
    bars = [
        line.get_ydata()
        for line in fig.axes[0].lines
        if line.get_linewidth() == 2.4 and line.get_xdata()[0] == line.get_xdata()[1]
    ]
    for level, bar in zip(STRIDE.levels, bars, strict=True):
        per_seed = [
            np.mean(
                [
                    run.metrics["test_acc"] * 100
                    for run in report.runs
                    if run.seed == seed and run.factors[STRIDE.key] == level
                ]
            )
            for seed in report.seeds
        ]
        half = sps.t.ppf(0.975, 2) * np.std(per_seed, ddof=1) / math.sqrt(3)
        assert bar == pytest.approx([np.mean(per_seed) - half, np.mean(per_seed) + half])


def test_level_colours_appear_in_the_plots_about_that_factor(
    report: Report, svgs: dict[str, str]
) -> None:
    colours = level_colors(report)
    stride = {c.lower() for c in colours[STRIDE.key].values()}
    head = {c.lower() for c in colours[HEAD.key].values()}
    for name in ("effect stride", "curves", "pareto", "faith"):
        assert stride <= hexes(svgs[name]), name
    assert head <= hexes(svgs["effect head"])
    assert head <= hexes(svgs["interaction"])


# --------------------------------------------------------------------------- each plot


def test_effect_plot_labels_axes_with_units_and_every_level(svgs: dict[str, str]) -> None:
    words = texts(svgs["effect stride"])
    assert "test accuracy (points)" in words
    assert "stride" in words
    for level in ("1", "2", "3"):
        assert re.search(rf"(^| ){level} n = 6\b", words)
    assert "95% CI" in words
    head = texts(svgs["effect head"])
    assert "Grad-CAM insertion AUC minus random (AUC)" in head
    assert "GAP" in head and "flatten" in head


def test_interaction_plot_has_a_line_per_level_of_b(svgs: dict[str, str]) -> None:
    words = texts(svgs["interaction"])
    assert "test accuracy (points)" in words and "stride" in words and "head" in words
    assert "GAP" in words and "flatten" in words


def test_curves_plot_has_epochs_and_every_level(svgs: dict[str, str]) -> None:
    words = texts(svgs["curves"])
    assert "epoch" in words and "validation accuracy (%)" in words
    for level in ("1", "2", "3"):
        assert f"{level} (3 seeds)" in words


def test_pareto_plot_uses_log_axis_only_for_wide_cost_and_labels_the_front(
    report: Report, svgs: dict[str, str]
) -> None:
    flops = texts(svgs["pareto"])
    assert "FLOPs per image (MFLOP), log scale" in flops
    assert "test accuracy (points)" in flops
    assert "Pareto front" in flops
    seconds = texts(plots.pareto_plot(report, SECONDS, ACC))
    assert "train time (s)" in seconds and "log scale" not in seconds
    # the best and the cheapest configurations are on the front
    assert flops.count("stride=1 head=GAP") == 2  # legend and label
    assert flops.count("stride=3 head=GAP") == 2


def test_confusion_plot_shows_class_names_percent_and_both_configs(
    report: Report, svgs: dict[str, str]
) -> None:
    words = texts(svgs["confusion"])
    for name in CLASSES:
        assert name in words
    first, last = next(iter(report.confusion)), list(report.confusion)[-1]
    assert first in words and last in words
    assert "% of the true class" in words
    assert "true class" in words and "predicted class" in words


def test_per_class_plot_is_classes_by_configurations(report: Report, svgs: dict[str, str]) -> None:
    words = texts(svgs["per class"])
    for name in [*CLASSES, *report.config_factors]:
        assert name in words
    assert "accuracy on the class (%)" in words


def test_faith_curves_plot_has_both_panels_and_the_random_order(svgs: dict[str, str]) -> None:
    words = texts(svgs["faith"])
    assert "fraction of pixels deleted" in words and "fraction of pixels inserted" in words
    assert "probability of the explained class" in words
    assert "random order" in words
    assert "stroke-dasharray" in svgs["faith"]  # the random-order curves are dashed


# --------------------------------------------------------------------------- thin data


def test_one_seed_draws_dots_but_no_interval() -> None:
    report = make_report(n_seeds=1)
    fig = plots.effect_figure(report, STRIDE, ACC)
    dots = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert dots >= 6  # one seed dot per configuration (plus the configuration means)
    words = texts(plots.effect_plot(report, STRIDE, ACC))
    assert "no interval" in words and "95% CI" not in words
    for svg in (
        plots.interaction_plot(report, STRIDE, HEAD, ACC, interaction_cells(report)),
        plots.curves_plot(report, STRIDE, "val_loss"),
        plots.pareto_plot(report, SECONDS, ACC),
    ):
        ET.fromstring(svg)


def test_a_level_with_no_finished_runs_is_named_not_dropped() -> None:
    report = make_report(unfinished_level=3)
    words = texts(plots.effect_plot(report, STRIDE, ACC))
    assert "no finished runs" in words and "no runs" in words
    assert "3" in words.split()
    curves = texts(plots.curves_plot(report, STRIDE, "val_acc"))
    assert "1 (3 seeds)" in curves and "3 (" not in curves
    for svg in (
        plots.interaction_plot(report, STRIDE, HEAD, ACC, interaction_cells(report)),
        plots.pareto_plot(report, FLOPS, ACC),
        plots.per_class_plot(report),
        plots.confusion_plot(report, list(report.config_factors)),
        plots.faith_curves_plot(report, "gradcam"),
    ):
        assert len(svg) < BUDGET
        ET.fromstring(svg)


def test_nan_values_are_skipped_not_drawn() -> None:
    report = make_report(nan=True)
    fig = plots.effect_figure(report, STRIDE, ACC)
    for coll in fig.axes[0].collections:
        assert np.isfinite(np.asarray(coll.get_offsets(), dtype=float)).all()
    for svg in (plots.effect_plot(report, STRIDE, ACC), plots.effect_plot(report, STRIDE, SECONDS)):
        assert "nan" not in texts(svg).lower()
        assert "nan" not in svg.lower()


@pytest.mark.parametrize(
    "build",
    [
        lambda r: plots.faith_curves_plot(r, "gradcam"),
        lambda r: plots.faith_curves_plot(r, "no-such-method"),
        lambda r: plots.confusion_plot(r, ["no such configuration"]),
    ],
)
def test_missing_data_gives_a_small_no_data_svg(build: Callable[[Report], str]) -> None:
    svg = build(make_report(faith=False))
    ET.fromstring(svg)
    assert len(svg) < 5_000
    assert texts(svg).startswith("No ")


def test_a_curve_metric_nobody_logged_gives_no_data() -> None:
    svg = plots.curves_plot(make_report(), STRIDE, "val_f1")
    assert texts(svg) == "No finished run has a val_f1 curve yet."


# --------------------------------------------------------------------------- Optuna


def _trials(n: int) -> list[optuna.trial.FrozenTrial]:
    rng = np.random.default_rng(0)
    dists = {
        "train.lr": FloatDistribution(1e-4, 1e-2, log=True),
        "model.stride": CategoricalDistribution([1, 2, 3]),
    }
    out = []
    for _ in range(n):
        lr, stride = float(10 ** rng.uniform(-4, -2)), int(rng.integers(1, 4))
        value = 0.8 - 0.05 * stride + 0.01 * math.log10(lr)
        out.append(
            create_trial(
                params={"train.lr": lr, "model.stride": stride}, distributions=dists, value=value
            )
        )
    return out


def test_optuna_figures_use_optunas_plots_and_leave_no_trace(tmp_path, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    rc = dict(matplotlib.rcParams)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = plots.optuna_figures(_trials(16), "maximize", ["train.lr", "model.stride"])
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
    for svg in (figures.history_svg, figures.importances_svg, figures.parallel_svg):
        assert ET.fromstring(svg).get("width") == "100%"
        assert len(svg) < BUDGET and "<script" not in svg
    assert "model.stride" in texts(figures.importances_svg)
    assert "train.lr" in texts(figures.parallel_svg)
    assert "fANOVA" in figures.note and "seed 0" in figures.note
    assert dict(matplotlib.rcParams) == rc  # Optuna's ggplot style did not leak
    assert plt.get_fignums() == []
    assert list(tmp_path.iterdir()) == []


def test_optuna_importances_are_empty_with_too_few_trials_or_no_variation() -> None:
    one = plots.optuna_figures(_trials(1), "maximize", ["train.lr"])
    assert one.importances_svg == "" and one.history_svg
    flat = [
        create_trial(
            params={"x": 1.0}, distributions={"x": FloatDistribution(0, 2)}, value=float(v)
        )
        for v in range(4)
    ]
    assert plots.optuna_figures(flat, "minimize", ["x"]).importances_svg == ""


# --------------------------------------------------------------------------- many configurations


def test_full_factorial_stays_readable_and_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """full.yaml's 36 configurations: legends by factor, not by configuration; no text
    collisions; every plot within budget; no layout warnings."""
    report = make_report(full=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "constrained_layout not applied"
        for name, build in _builders(report).items():
            assert len(build().encode()) < BUDGET, name
        for name in ("effect stride", "pareto flops", "faith"):
            assert overlapping_texts(FIGURES[name](report), monkeypatch) == [], name
    legend = texts(plots.pareto_plot(report, SECONDS, ACC))
    assert "stride=1" in legend.split()
    faith = texts(plots.faith_curves_plot(report, "gradcam"))
    assert "random order (range)" in faith
    assert "stride=1 kernel=3x3 head=GAP depth=2" not in faith  # no 36-entry legend


def test_every_level_of_full_yaml_has_its_own_colour() -> None:
    """full.yaml varies four factors with 10 levels in all: no two may share a colour,
    or the reader cannot tell depth 2 from stride 1 in a legend."""
    colours = level_colors(make_report(full=True))
    flat = [c for levels in colours.values() for c in levels.values()]
    assert len(flat) == 10
    assert len(set(flat)) == len(flat)


# --------------------------------------------------------------------------- short sweeps


def _markers(fig: Figure) -> list[str]:
    return [str(line.get_marker()) for line in fig.axes[0].lines if len(line.get_xdata())]


def test_a_one_epoch_curve_is_drawn_as_points_on_a_sensible_axis() -> None:
    """One epoch: a line through one point draws nothing (issue 15: empty plots whose x
    axis ran 0.945 to 1.05); points with error bars instead, on an axis round epoch 1."""
    fig = plots.curves_figure(make_report(epochs=1), STRIDE, "val_acc")
    assert _markers(fig).count("o") == len(STRIDE.levels)  # a point per level
    assert fig.axes[0].get_xlim() == (0.5, 1.5)
    assert list(fig.axes[0].get_xticks()) == [1]
    # a long curve stays a line with a band
    long = plots.curves_figure(make_report(epochs=8), STRIDE, "val_acc")
    assert "o" not in _markers(long) and long.axes[0].collections


def _spread_seconds(report: Report) -> Report:
    """Two seeds whose train times differ tenfold: the 95% t-interval (df 1) of every
    level and cell reaches far below 0 s."""
    runs = [
        dataclasses.replace(r, metrics={**r.metrics, "train_seconds": 5.0 if r.seed == 0 else 60.0})
        if r.metrics
        else r
        for r in report.runs
    ]
    cells = dict(report.cells)
    cells["train_seconds"] = {
        c: Interval(32.5, 38.9, 2, 32.5 - 349.4, 32.5 + 349.4) for c in report.config_factors
    }
    return dataclasses.replace(report, runs=runs, cells=cells)


def test_intervals_of_a_quantity_that_cannot_be_negative_are_cut_at_zero() -> None:
    report = _spread_seconds(make_report(n_seeds=2))
    fig = plots.effect_figure(report, STRIDE, SECONDS)
    bars = [
        line.get_ydata()
        for line in fig.axes[0].lines
        if line.get_linewidth() == 2.4 and line.get_xdata()[0] == line.get_xdata()[1]
    ]
    assert len(bars) == len(STRIDE.levels)
    assert all(min(bar) == 0.0 for bar in bars)  # cut, not dropped
    assert "cut at 0" in texts(plots.effect_plot(report, STRIDE, SECONDS))
    pareto = plots.pareto_figure(report, SECONDS, ACC)
    (bars_collection,) = [c for c in pareto.axes[0].collections if c.get_segments()]
    xs = [x for seg in bars_collection.get_segments() for x, _ in seg]
    assert min(xs) == 0.0
    assert "cut at 0" in texts(plots.pareto_plot(report, SECONDS, ACC))
    # an explanation score is a difference: its interval may be negative and is not cut
    xai = plots.effect_figure(make_report(n_seeds=2), STRIDE, XAI)
    legend = xai.axes[0].get_legend()
    assert "cut at" not in " ".join(t.get_text() for t in legend.get_texts())
