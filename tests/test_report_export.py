"""The report's plots as files for a paper, and its effects as a LaTeX table, on the
in-memory report of `tests/report_fixture.py` (no store, no training)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from PIL import Image
from report_fixture import interaction_cells as fixture_cells
from report_fixture import make_report

from ablate.report import effects_tex, page_figures, write_figures
from ablate.report.page import render
from ablate.stats.model import Effect, Response

pytestmark = pytest.mark.unit


def _report_and_cells():  # type: ignore[no-untyped-def]
    report = make_report(n_seeds=3)
    return report, None


def test_every_plot_of_the_page_is_named_once() -> None:
    report, cells = _report_and_cells()
    figs = page_figures(report, cells)
    names = [f.name for f in figs]
    assert len(names) == len(set(names)), names
    assert all(re.fullmatch(r"[a-z0-9-]+", n) for n in names)
    page = render(report, cells)
    # each plot is one inline <svg role="img">; the gallery's maps are <img> tags
    assert page.count('role="img"') == len(figs)
    assert {f.section for f in figs} >= {"effects", "curves", "cost", "confusion"}


def test_figures_are_pdf_with_embedded_fonts_and_300_dpi_png(tmp_path: Path) -> None:
    report, cells = _report_and_cells()
    figs = page_figures(report, cells)[:3] + [
        f for f in page_figures(report) if f.section == "cost"
    ]
    written = write_figures(report, tmp_path, cells)
    stems = {p.stem for p in written}
    assert stems == {f.name for f in page_figures(report, cells)}
    for f in figs:
        pdf = (tmp_path / f"{f.name}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF")
        assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType embedded, no bitmaps
        with Image.open(tmp_path / f"{f.name}.png") as png:
            assert png.size[0] == round(6.4 * 300)
            dpi = png.info.get("dpi", (0, 0))
            assert round(dpi[0]) == 300


def test_a_figure_is_a_matplotlib_figure() -> None:
    report, cells = _report_and_cells()
    fig = page_figures(report, cells)[0].draw()
    assert isinstance(fig, Figure) and fig.axes


HOSTILE = Response("acc_&_%", "acc & 100% {x}_y", "pts$", scale=100.0)


def _rows(tex: str) -> list[list[str]]:
    """The body rows of a booktabs tabular, split on unescaped &."""
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    rows = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line == r"\addlinespace":
            continue
        assert line.endswith(r"\\"), line
        rows.append(re.split(r"(?<!\\)&", line[:-2]))
    return rows


def _balanced(tex: str) -> bool:
    depth = 0
    for m in re.finditer(r"(?<!\\)[{}]", tex):
        depth += 1 if m.group() == "{" else -1
        if depth < 0:
            return False
    return depth == 0


def test_effects_tex_parses_as_one_booktabs_table() -> None:
    report, _ = _report_and_cells()
    effects = report.effects + report.interactions
    tex = effects_tex(effects, report.responses, {f.key: f.name for f in report.factors})
    spec = re.search(r"\\begin\{tabular\}\{([lrc]+)\}", tex)
    assert spec is not None
    columns = len(spec.group(1))
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")
    assert tex.rstrip().endswith(r"\end{tabular}")
    header = tex.split(r"\toprule", 1)[1].split(r"\midrule", 1)[0].strip()
    assert len(re.split(r"(?<!\\)&", header)) == columns
    rows = _rows(tex)
    assert len(rows) == len(effects)
    assert all(len(r) == columns for r in rows)
    assert _balanced(tex)


def test_effects_tex_escapes_what_the_user_wrote() -> None:
    e = Effect(
        response=HOSTILE.key,
        factor="model.head",
        level="gap_#1",
        baseline="flat~ten",
        estimate=-1.5,
        lo=-2.0,
        hi=-1.0,
        n=3,
        method="paired",
        seeds=3,
        p=0.01,
        p_holm=0.02,
        verdict="worse",
    )
    tex = effects_tex([e], [HOSTILE], {"model.head": "head^2"})
    row = _rows(tex)[0]
    assert len(row) == 7
    assert r"acc \& 100\% \{x\}\_y (pts\$)" in row[0]
    assert r"head\textasciicircum{}2" in row[1]
    assert r"\#1" in row[2] and r"\textasciitilde{}" in row[2]
    assert "$-$1.50" in row[3] and "[$-$2.00, $-$1.00]" in row[4]
    assert _balanced(tex)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX on this machine")
def test_effects_tex_compiles_with_pdflatex(tmp_path: Path) -> None:
    report, _ = _report_and_cells()
    tex = effects_tex(report.effects, report.responses, {f.key: f.name for f in report.factors})
    (tmp_path / "effects.tex").write_text(tex)
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\\begin{document}"
        "\\input{effects.tex}\\end{document}\n"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]


def test_interaction_figure_is_named_when_the_page_draws_it() -> None:
    report = make_report(n_seeds=3)
    cells = fixture_cells(report)
    names = [f.name for f in page_figures(report, cells)]
    assert any(n.startswith("interaction-") for n in names)
    assert render(report, cells).count('role="img"') == len(names)
