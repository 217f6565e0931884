"""The report page: one self-contained HTML document laid out from a computed `Report`.

Pure: a `Report` (and the interaction plot's cells) in, an HTML string out. jinja2 with
autoescape writes the page, so every user string (experiment, run and parameter names,
reasons, paths, commands) is escaped; only the plots' SVG, our CSS and our script go in
as trusted markup. Nothing on the page is fetched: images are PNG data URIs.

The section builders are in `sections` and `gallery`, the records they fill and their
shared context in `view`, number and date formatting in `format`; the template, CSS and
script in `templates/` next to this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ablate.report.page.gallery import gallery_section
from ablate.report.page.sections import (
    confusion_section,
    cost_section,
    curves_section,
    design_section,
    effects_section,
    interaction_section,
    lede_section,
    optuna_section,
    provenance_section,
    runs_section,
    summary_section,
)
from ablate.report.page.view import PageContext
from ablate.stats.model import Interval, Report, is_finite

TEMPLATES = Path(__file__).with_name("templates")
NO_CONTRASTS = "No contrasts yet: a factor needs at least two levels with finished runs."
NO_CONTRASTS_TUNED = (
    "No contrasts: the trials of a tuned sweep are different configurations at one seed each, "
    "so no level is compared with an interval here (the Optuna section names the best "
    "setting). Confirmation seeds (confirm_seeds: 3 in the space) re-train it on fresh "
    "seeds, and the comparison appears here."
)


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
    return f"{x * 100:.0f}%" if is_finite(x) else ""


def _asset(name: str) -> Markup:
    return Markup((TEMPLATES / name).read_text(encoding="utf-8"))


def render(
    report: Report, interaction_cells: Mapping[tuple[Any, Any], Interval] | None = None
) -> str:
    """The whole HTML document for `report`; `interaction_cells` are the means per
    (a-level, b-level) of the interaction plot (`ablate.stats.interaction_cells`)."""
    ctx = PageContext(report, interaction_cells)
    interaction = interaction_section(ctx)
    optuna = optuna_section(ctx)
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
            prov=provenance_section(report),
            design=design_section(ctx),
            effects=effects_section(ctx),
            interaction=interaction,
            curves=curves_section(ctx),
            cost=cost_section(ctx),
            confusion=confusion_section(ctx),
            gallery=gallery_section(ctx),
            optuna=optuna,
            runs=runs_section(ctx),
            empty_effects=NO_CONTRASTS_TUNED if report.kind == "optuna" else NO_CONTRASTS,
            # a tuned sweep with nothing compared: say why once, not in every group
            no_contrasts=report.kind == "optuna" and not report.effects,
            summary=summary_section(ctx),
            lede=lede_section(ctx),
            baseline=[
                (f.name, ctx.level(f.key, report.baseline.get(f.key)))
                for f in report.factors
                if f.key in report.baseline
            ],
        )
    )
