"""The report page: one self-contained HTML document laid out from a computed `Report`.

Pure: a `Report` (and the interaction plot's cells) in, an HTML string out. jinja2 with
autoescape writes the page, so every user string (experiment, run and parameter names,
reasons, paths, commands) is escaped; only the plots' SVG, our CSS and our script go in
as trusted markup. Nothing on the page is fetched: images are PNG data URIs.

The section builders are in `page_sections` and `page_gallery`, the records they fill
and their shared context in `page_view`, number and date formatting in `page_format`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ablate.report.model import Interval, Report
from ablate.report.page_format import _finite
from ablate.report.page_gallery import _gallery
from ablate.report.page_sections import (
    _confusion,
    _cost,
    _curves,
    _design,
    _effects,
    _interaction,
    _optuna,
    _provenance,
    _runs,
    _summary,
)
from ablate.report.page_view import _Ctx

TEMPLATES = Path(__file__).with_name("templates")
LONG_TABLE = 24  # effects tables longer than this fold away (explanations start folded)


# --------------------------------------------------------------------------- page


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    return env


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%" if _finite(x) else ""


def _asset(name: str) -> Markup:
    return Markup((TEMPLATES / name).read_text(encoding="utf-8"))


def render(
    report: Report, interaction_cells: Mapping[tuple[Any, Any], Interval] | None = None
) -> str:
    """The whole HTML document for `report`; `interaction_cells` are the means per
    (a-level, b-level) of the interaction plot (`ablate.report.stats.interaction_cells`)."""
    ctx = _Ctx(report, interaction_cells)
    interaction = _interaction(ctx)
    optuna = _optuna(ctx)
    sections = [
        ("provenance", "Provenance"),
        ("design", "Design"),
        ("findings", "Findings"),
        ("effects", "Effects"),
        *([("interaction", "Interaction")] if interaction else []),
        ("curves", "Curves"),
        ("cost", "Cost"),
        ("confusion", "Confusion"),
        ("gallery", "Explanations"),
        *([("optuna", "Optuna")] if optuna else []),
        ("runs", "Runs"),
    ]
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=report,
            sections=sections,
            css=_asset("report.css"),
            js=_asset("report.js"),
            prov=_provenance(report),
            design=_design(ctx),
            effects=_effects(ctx),
            interaction=interaction,
            curves=_curves(ctx),
            cost=_cost(ctx),
            confusion=_confusion(ctx),
            gallery=_gallery(ctx),
            optuna=optuna,
            runs=_runs(ctx),
            long_table=LONG_TABLE,
            summary=_summary(ctx),
            factor_levels=[(f, [ctx.level(f.key, v) for v in f.levels]) for f in report.factors],
            baseline=[
                (f.name, ctx.level(f.key, report.baseline.get(f.key)))
                for f in report.factors
                if f.key in report.baseline
            ],
        )
    )
