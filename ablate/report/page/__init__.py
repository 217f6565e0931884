"""The report page: `render` lays a computed `Report` out as one self-contained HTML
document (sections in `sections` and `gallery`, their records in `view`, text formatting
in `format`, the jinja2 template, CSS and script in `templates/`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.report.page.render import render as render

# name -> module: a module loads when one of its names is first used, so that importing
# the door stays cheap (no matplotlib, pandas or torch until they are needed)
_WHERE = {
    "render": "ablate.report.page.render",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
