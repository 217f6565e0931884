"""The report's data: the sweep read from the store (`load`, through the `ablate.store`
door only), its runs as `RunRow`s and as a pandas table (`runs`), the explanation views
from the runs' artifacts (`explanations`), and the one configuration order and colour map
every figure and the page use (`configs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.report.data.configs import PALETTE as PALETTE
    from ablate.report.data.configs import ConfigIndex as ConfigIndex
    from ablate.report.data.configs import config_color as config_color
    from ablate.report.data.configs import config_order as config_order
    from ablate.report.data.configs import level_colors as level_colors
    from ablate.report.data.load import Design as Design
    from ablate.report.data.load import ReportError as ReportError
    from ablate.report.data.load import SweepData as SweepData
    from ablate.report.data.load import check_store as check_store
    from ablate.report.data.load import load_sweep as load_sweep
    from ablate.report.data.runs import factors_of as factors_of
    from ablate.report.data.runs import missing_rows as missing_rows
    from ablate.report.data.runs import responses_of as responses_of
    from ablate.report.data.runs import run_rows as run_rows
    from ablate.report.data.runs import runs_frame as runs_frame

# name -> module: a module loads when one of its names is first used, so that importing
# the door stays cheap (no matplotlib, pandas or torch until they are needed)
_WHERE = {
    "ConfigIndex": "ablate.report.data.configs",
    "Design": "ablate.report.data.load",
    "PALETTE": "ablate.report.data.configs",
    "ReportError": "ablate.report.data.load",
    "SweepData": "ablate.report.data.load",
    "check_store": "ablate.report.data.load",
    "config_color": "ablate.report.data.configs",
    "config_order": "ablate.report.data.configs",
    "factors_of": "ablate.report.data.runs",
    "level_colors": "ablate.report.data.configs",
    "load_sweep": "ablate.report.data.load",
    "missing_rows": "ablate.report.data.runs",
    "responses_of": "ablate.report.data.runs",
    "run_rows": "ablate.report.data.runs",
    "runs_frame": "ablate.report.data.runs",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
