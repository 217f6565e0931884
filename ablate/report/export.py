"""The report's plots as files for a paper, and its effects as a LaTeX table.

`page_figures` names every plot the page shows, in page order, each with a function
that draws it as a matplotlib `Figure` (the same `*_figure` functions the page's SVGs
come from). `write_figures` saves each as PDF (vector, TrueType fonts embedded) and PNG
(300 dpi) at its print size, the width of the page's plots (6.4 in). `effects_tex` writes
the effects and interactions as a booktabs table: estimate, 95% interval, Holm-adjusted p
and verdict per row, every user-supplied text escaped for LaTeX.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ablate.report.data.configs import config_order
from ablate.stats.model import (
    Effect,
    Factor,
    Gallery,
    Interval,
    Report,
    Response,
    is_finite,
    level_label,
)

PNG_DPI = 300
# matplotlib rcParams for the files: TrueType (type 42) fonts embedded in the PDF, so the
# text stays text (selectable, searchable) and no Type 3 bitmap fonts reach a publisher
PRINT_RC: dict[Any, Any] = {"pdf.fonttype": 42, "ps.fonttype": 42, "savefig.dpi": PNG_DPI}


CURVE_METRICS = (("train_loss", "val_loss"), ("train_acc", "val_acc"))
XAI_PLOTTED = (".deletion_vs_random", ".insertion_vs_random")
TRIAL_CURVES = 12  # configurations drawn one curve each where no factor has levels


@dataclass(frozen=True)
class PageFigure:
    """One plot of the page: `name` is a file stem (lower case, [a-z0-9-]), `section` the
    page section it is drawn in, `title` what it shows, `draw` builds the figure;
    `response`, `factor` and `method` say which ones it is about, where it is about one."""

    name: str
    section: str
    title: str
    draw: Callable[[], Figure]
    response: str = ""  # Response.key
    factor: str = ""  # Factor.key
    method: str = ""  # explanation method

    def svg(self) -> str:
        """The figure as the page's inline SVG."""
        from ablate.report.figures import to_svg

        return to_svg(self.draw())


def slug(text: str) -> str:
    """'test_acc' -> 'test-acc', 'model.stride' -> 'stride' (a file-name part)."""
    text = text.split(".")[-1] if text.startswith(("model.", "train.", "data.")) else text
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def shown_factors(report: Report) -> list[Factor]:
    """Factors with levels to compare (Optuna's nuisance factors have none)."""
    return [f for f in report.factors if f.role != "nuisance" and len(f.levels) > 1]


def main_response(report: Report) -> Response | None:
    """Test accuracy, else the first accuracy response."""
    for resp in report.responses:
        if resp.key == "test_acc":
            return resp
    return next((resp for resp in report.responses if resp.group == "accuracy"), None)


def effect_plotted(resp: Response) -> bool:
    """The page draws effect plots of every accuracy and cost response, and of the
    explanation numbers only deletion and insertion against random (the rest is tables)."""
    return resp.group != "explanations" or resp.key.endswith(XAI_PLOTTED)


def gallery_methods(g: Gallery) -> list[str]:
    """The gallery's tabs: the methods that apply to at least one of its configurations
    (CAM on a sweep of flatten heads only is said once, not shown as a tab of n/a)."""
    return [m for m in g.methods if not all(m in col.na for col in g.columns)] or list(g.methods)


def page_figures(
    report: Report, interaction_cells: Mapping[tuple[Any, Any], Interval] | None = None
) -> list[PageFigure]:
    """Every plot of the page for `report`, in page order: the page draws exactly these
    (Optuna's own plots excepted: Optuna draws them at build time, `optuna_figures`)."""
    from ablate.report import figures as plots

    out: list[PageFigure] = []
    factors = shown_factors(report)
    for resp in report.responses:
        if not (report.cells.get(resp.key) and effect_plotted(resp)):
            continue
        for f in factors:
            out.append(
                PageFigure(
                    f"effect-{slug(resp.key)}-{slug(f.key)}",
                    "effects",
                    f"{resp.label} by {f.name}",
                    partial(plots.effect_figure, report, f, resp),
                    response=resp.key,
                    factor=f.key,
                )
            )
    acc = main_response(report)
    by_key = {f.key: f for f in report.factors}
    if report.interaction and interaction_cells and acc is not None:
        a, b = (by_key.get(k) for k in report.interaction)
        if a is not None and b is not None:
            cells = interaction_cells
            out.append(
                PageFigure(
                    f"interaction-{slug(a.key)}-{slug(b.key)}",
                    "interaction",
                    f"{acc.label}: {a.name} × {b.name}",
                    lambda: plots.interaction_figure(report, a, b, acc, cells),
                    response=acc.key,
                )
            )
    present = {m for run in report.runs for m, ys in run.curves.items() if ys}
    metrics = [m for pair in CURVE_METRICS for m in pair if m in present]
    curves = [
        PageFigure(
            f"curves-{slug(metric)}-{slug(f.key)}",
            "curves",
            f"{metric} per epoch by {f.name}",
            partial(plots.curves_figure, report, f, metric),
            response=metric,
            factor=f.key,
        )
        for f in factors
        for metric in metrics
    ]
    if not curves and metrics and len(config_order(report)) <= TRIAL_CURVES:
        # nothing to compare by level (a tuned sweep without scientific factors): per trial
        curves = [
            PageFigure(
                f"curves-{slug(metric)}-configuration",
                "curves",
                f"{metric} per epoch, one curve per configuration",
                partial(plots.trial_curves_figure, report, metric),
                response=metric,
            )
            for metric in metrics
        ]
    out += curves
    if acc is not None and report.cells.get(acc.key):
        for cost in cost_responses(report):
            out.append(
                PageFigure(
                    f"pareto-{slug(cost.key)}",
                    "cost",
                    f"{acc.label} against {cost.label}",
                    partial(plots.pareto_figure, report, cost, acc),
                    response=cost.key,
                )
            )
    chosen = confusion_configs(report)
    if chosen:
        out.append(
            PageFigure(
                "confusion",
                "confusion",
                "confusion matrices, best and worst configuration",
                partial(plots.confusion_figure, report, chosen),
            )
        )
        if report.classes:
            out.append(
                PageFigure(
                    "per-class",
                    "confusion",
                    "test accuracy per class",
                    partial(plots.per_class_figure, report),
                )
            )
    g = report.gallery
    if g is not None and g.columns and g.images:
        faith = {fc.method for fc in report.faith_curves}
        for m in (m for m in gallery_methods(g) if m in faith):
            out.append(
                PageFigure(
                    f"faithfulness-{slug(m)}",
                    "gallery",
                    f"deletion and insertion curves, {m}",
                    partial(plots.faith_curves_figure, report, m),
                    method=m,
                )
            )
    return out


def cost_responses(report: Report) -> list[Response]:
    """The cost responses the page plots against accuracy: train time and FLOPs, else the
    first two cost responses; only those with values."""
    cost = [resp for resp in report.responses if resp.group == "cost"]
    costs = [resp for resp in cost if resp.key == "train_seconds" or "flop" in resp.key.lower()]
    return [resp for resp in (costs or cost[:2]) if report.cells.get(resp.key)]


def confusion_configs(report: Report) -> list[str]:
    """The configurations whose confusion matrices the page shows: best, and worst."""
    acc = main_response(report)
    cells = report.cells.get(acc.key, {}) if acc else {}
    ranked = [
        c
        for c in sorted(cells, key=lambda c: cells[c].mean, reverse=True)
        if c in report.confusion and is_finite(cells[c].mean)
    ]
    if not ranked:
        return []
    return [ranked[0]] if len(ranked) == 1 else [ranked[0], ranked[-1]]


def write_figures(
    report: Report,
    folder: Path,
    interaction_cells: Mapping[tuple[Any, Any], Interval] | None = None,
) -> list[Path]:
    """Each plot of the page as `<name>.pdf` and `<name>.png` in `folder`; the paths."""
    import matplotlib

    from ablate.report.figures.style import style

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in page_figures(report, interaction_cells):
        with style(), matplotlib.rc_context(PRINT_RC):
            fig = spec.draw()
            for ext in ("pdf", "png"):
                path = folder / f"{spec.name}.{ext}"
                metadata = {"CreationDate": None} if ext == "pdf" else {}
                fig.savefig(path, format=ext, dpi=PNG_DPI, metadata=metadata)
                written.append(path)
    return written


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "×": r"$\times$",
    "−": r"$-$",
    "±": r"$\pm$",
}


def tex_escape(text: object) -> str:
    """Any text as LaTeX that typesets it literally (names, levels and units come from
    the user's space file)."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def _num(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x):
        return "--"
    return f"{x:.{digits}f}".replace("-", "$-$")


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "--"
    return "$<$0.001" if p < 0.001 else f"{p:.3f}"


def effects_tex(
    effects: Sequence[Effect], responses: Sequence[Response], factor_names: Mapping[str, str]
) -> str:
    """A booktabs `tabular` of `effects`: response, factor, level vs baseline, estimate,
    95% interval, Holm-adjusted p, verdict. Needs `\\usepackage{booktabs}`."""
    by_key = {r.key: r for r in responses}
    lines = [
        "% ablate report: effects (estimate = level minus baseline, display units)",
        "% needs \\usepackage{booktabs}",
        r"\begin{tabular}{lllrlrl}",
        r"\toprule",
        r"Response & Factor & Level vs baseline & Estimate & 95\% CI & $p_\mathrm{Holm}$ "
        r"& Verdict \\",
        r"\midrule",
    ]
    previous = None
    for e in effects:
        resp = by_key.get(e.response)
        label = f"{resp.label} ({resp.unit})" if resp and resp.unit else e.response
        if previous is not None and e.response != previous:
            lines.append(r"\addlinespace")
        previous = e.response
        factor = " × ".join(factor_names.get(k, k) for k in e.factor.split("*"))
        contrast = f"{_level(e.factor, e.level)} vs {_level(e.factor, e.baseline)}"
        digits = 2 if abs(e.estimate) < 100 else 0
        ci = (
            f"[{_num(e.lo, digits)}, {_num(e.hi, digits)}]"
            if e.lo is not None and e.hi is not None
            else "--"
        )
        cells = [
            tex_escape(label),
            tex_escape(factor),
            tex_escape(contrast),
            _num(e.estimate, digits),
            ci,
            _p(e.p_holm),
            tex_escape(e.verdict),
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def _level(factor: str, value: Any) -> str:
    """A level as the page writes it; an interaction's levels are tuples."""
    keys = factor.split("*")
    if len(keys) > 1 and isinstance(value, tuple | list) and len(value) == len(keys):
        return ", ".join(level_label(k, v) for k, v in zip(keys, value, strict=True))
    return level_label(keys[0], value)
