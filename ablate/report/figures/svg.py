"""A matplotlib figure as an inline `<svg>` element: matplotlib's SVG rewritten with a
few regexes so that several plots share one page (text stays text, no metadata, short
coordinates, ids unique per plot, CSS scoped to the plot, width 100%)."""

from __future__ import annotations

import hashlib
import io
import re

from matplotlib.figure import Figure

from ablate.report.figures.style import DPI, FONT_STACK, WIDTH_IN, style

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_NUMBER = re.compile(r"-?\d+\.\d{3,}")
_GEOMETRY = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|width|height|transform|points|viewBox)=")([^"]*)"')
_FONT = re.compile(r"font-family: [^;\"]*;?\s*")
_NO_ROTATE = re.compile(r' transform="rotate\(-?0 [^)"]*\)"')
_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(?:url\(|href=")#([^)"]+)')
_REF_SUB = re.compile(r'(url\(|href=")#([^)"]+)')


def _round(match: re.Match[str]) -> str:
    text = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def to_svg(fig: Figure, *, tight: bool = False) -> str:
    """The figure as an inline `<svg>` element: no prolog or metadata, 2-decimal
    coordinates, one font stack on the root, ids prefixed so that several plots can share
    a page, its CSS scoped to it, `width="100%"` with a max-width of the figure's natural
    size in pixels.
    `tight` crops to the drawn artists (for figures laid out by others, e.g. Optuna)."""
    buffer = io.StringIO()
    with style():
        if tight:
            fig.savefig(
                buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.08
            )
        else:
            fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    size = re.search(r'<svg [^>]*?width="([\d.]+)pt"', svg)
    width_px = round(float(size.group(1)) / 72 * DPI) if size else round(WIDTH_IN * DPI)
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg)
    svg = _COMMENT.sub("", svg)
    svg = _GEOMETRY.sub(lambda m: m.group(1) + _NUMBER.sub(_round, m.group(2)) + '"', svg)
    svg = _FONT.sub("", svg)
    svg = _NO_ROTATE.sub("", svg)
    svg = svg.replace(' style=""', "")
    svg = re.sub(r">\s+<", "><", svg)
    svg = re.sub(r"\s*\n\s*", " ", svg)  # path data spans lines
    # keep only the ids something points at, prefixed with a hash of this plot
    referenced = set(_REF.findall(svg))
    prefix = "a" + hashlib.sha1(svg.encode()).hexdigest()[:6] + "-"
    svg = _ID.sub(lambda m: f' id="{prefix}{m.group(1)}"' if m.group(1) in referenced else "", svg)
    svg = _REF_SUB.sub(lambda m: f"{m.group(1)}#{prefix}{m.group(2)}", svg)
    # matplotlib's "*{stroke-linejoin...}" would style the whole page once inlined
    svg = svg.replace('<style type="text/css">*{', f'<style type="text/css">.{prefix}svg *{{')
    svg = re.sub(
        r'<svg ([^>]*?)width="[\d.]+pt" height="[\d.]+pt"',
        rf'<svg \1width="100%" style="max-width:{width_px}px;height:auto;'
        rf'font-family:{FONT_STACK}" class="{prefix}svg" role="img"',
        svg,
        count=1,
    )
    return svg.strip()
