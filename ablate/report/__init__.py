"""`ablate report`: one offline HTML page per sweep, with effects, intervals and explanations.

The room, top down: `build` composes `data/` (the sweep from the store, the runs table,
one configuration order and colour map), the `ablate.stats` room (cells, effects, noise,
and `ablate.stats.model`, the plain values they pass each other), `findings` (sentences),
`figures/` (inline SVG) and `page/` (the HTML, with its templates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.report.build import ReportOptions as ReportOptions
    from ablate.report.build import ReportResult as ReportResult
    from ablate.report.build import build_report as build_report
    from ablate.report.build import effects_frame as effects_frame
    from ablate.report.build import write_report as write_report
    from ablate.report.data.load import ReportError as ReportError
    from ablate.report.export import effects_tex as effects_tex
    from ablate.report.export import page_figures as page_figures
    from ablate.report.export import write_figures as write_figures
    from ablate.report.notebook import Sweep as Sweep
    from ablate.report.notebook import load_sweep as load_sweep

# name -> module: a module loads when one of its names is first used, so that importing
# the door stays cheap (no matplotlib, pandas or torch until they are needed)
_WHERE = {
    "ReportError": "ablate.report.data.load",
    "ReportOptions": "ablate.report.build",
    "ReportResult": "ablate.report.build",
    "Sweep": "ablate.report.notebook",
    "build_report": "ablate.report.build",
    "effects_frame": "ablate.report.build",
    "effects_tex": "ablate.report.export",
    "load_sweep": "ablate.report.notebook",
    "page_figures": "ablate.report.export",
    "write_figures": "ablate.report.export",
    "write_report": "ablate.report.build",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
