"""The report page without a browser: sections, escaping, no outside URL, size budget,
and reports with parts missing. `rich_report` is shared with test_report_browser.py."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from report_fixture import make_report

from ablate.report.page import render
from ablate.report.page.format import data_uri
from ablate.stats.model import (
    Effect,
    Factor,
    Gallery,
    GalleryCell,
    GalleryColumn,
    OptunaFigures,
    Report,
    ScientificRow,
    SeedNoise,
)
from explain.heatmap import overlay_png, png_bytes

SLICE = Path(__file__).parent / "data" / "cifar10-slice.zip"
HOSTILE = "<script>alert(1)</script>\"'&"
SECTIONS = (
    "provenance",
    "design",
    "findings",
    "effects",
    "interaction",
    "curves",
    "cost",
    "confusion",
    "gallery",
    "optuna",
    "runs",
)
METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "cam")
MAP_SIDE = {1: 8, 2: 2, 3: 1}  # last feature map of the fixture's strides


# --------------------------------------------------------------------------- builders


def probe_images(per_class: int = 2) -> tuple[list[np.ndarray], list[str], list[int]]:
    """Real CIFAR-10 test images from the tests' slice, `per_class` of each class."""
    images, labels, indices = [], [], []
    with zipfile.ZipFile(SLICE) as z:
        names = sorted(n for n in z.namelist() if n.startswith("cifar10/test/"))
        taken: dict[str, int] = {}
        for i, name in enumerate(names):
            label = name.split("/")[2]
            if taken.get(label, 0) >= per_class:
                continue
            taken[label] = taken.get(label, 0) + 1
            images.append(np.asarray(Image.open(io.BytesIO(z.read(name))).convert("RGB")))
            labels.append(label)
            indices.append(i)
    return images, labels, indices


def _heat(rng: np.random.Generator, side: int) -> np.ndarray:
    """A smooth map seen at a side x side resolution, upsampled to 32x32 like Grad-CAM."""
    yy, xx = np.mgrid[0:32, 0:32]
    cy, cx = rng.uniform(8, 24, 2)
    fine = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / rng.uniform(30, 90))
    if side >= 32:
        return fine
    block = 32 // side
    coarse = fine.reshape(side, block, side, block).mean(axis=(1, 3))
    up = np.kron(coarse, np.ones((block, block)))
    return up / up.max() if up.max() > 0 else up


def _gallery(report: Report, per_class: int, classes: list[str]) -> Gallery:
    rng = np.random.default_rng(1)
    images, labels, indices = probe_images(per_class)
    columns = []
    for config, point in report.config_factors.items():
        if config not in report.confusion:  # no finished run
            continue
        stride, head = point["model.stride"], point["model.head"]
        cells: dict[str, list[GalleryCell]] = {}
        na: dict[str, str] = {}
        for method in METHODS:
            if method == "cam" and head != "gap":
                na[method] = "CAM needs a GAP head"
                cells[method] = [GalleryCell(None, "", math.nan, False) for _ in images]
                continue
            side = MAP_SIDE[stride] if method in ("gradcam", "cam") else 32
            row = []
            for img, label in zip(images, labels, strict=True):
                wrong = rng.uniform() < 0.15 * stride
                predicted = str(rng.choice(classes)) if wrong else label
                conf = float(rng.uniform(0.35, 0.99))
                png = overlay_png(img, _heat(rng, side))
                row.append(GalleryCell(png, predicted, conf, wrong))
            cells[method] = row
        columns.append(
            GalleryColumn(
                config, f"run-{config}", f"{MAP_SIDE[stride]}x{MAP_SIDE[stride]}", cells, na
            )
        )
    return Gallery(
        methods=METHODS,
        images=[png_bytes(i) for i in images],
        labels=labels,
        indices=indices,
        columns=columns,
        normalisation="Each map is scaled to [0, 1] per image by its own maximum (ReLU for "
        "Grad-CAM/CAM, absolute value for gradients).",
    )


def _effects(report: Report) -> list[Effect]:
    """Level-vs-baseline differences of the cell means (numbers only need to look real)."""
    out = []
    for resp in report.responses:
        cells = report.cells.get(resp.key, {})
        for f in report.factors:
            base = report.baseline[f.key]
            for level in f.levels[1:]:
                diffs = []
                for config, point in report.config_factors.items():
                    if point[f.key] != level:
                        continue
                    twin = {**point, f.key: base}
                    other = next((c for c, p in report.config_factors.items() if p == twin), None)
                    if config in cells and other in cells:
                        diffs.append(cells[config].mean - cells[other].mean)  # type: ignore[index]
                if not diffs:
                    continue
                est = float(np.mean(diffs))
                half = 0.1 * abs(est) + 0.3
                lo, hi = est - half, est + half
                clear = lo > 0 or hi < 0
                better = (est > 0) == resp.higher_is_better
                verdict = ("better" if better else "worse") if clear else "no clear difference"
                effect = Effect(
                    resp.key,
                    f.key,
                    level,
                    base,
                    est,
                    lo,
                    hi,
                    len(diffs) * len(report.seeds),
                    "paired",
                    len(report.seeds),
                    p=0.01,
                    p_holm=0.03 if clear else 0.4,
                    lo_holm=lo - 0.1,
                    hi_holm=hi + 0.1,
                    verdict=verdict,  # type: ignore[arg-type]
                )
                if len(report.seeds) == 1:  # no replication: no interval, no claim
                    effect = dataclasses.replace(
                        effect,
                        lo=None,
                        hi=None,
                        p=None,
                        p_holm=None,
                        lo_holm=None,
                        hi_holm=None,
                        method="none",
                        verdict="n = 1",
                    )
                out.append(effect)
    return out


def rich_report(
    *,
    hostile: bool = False,
    n_seeds: int = 3,
    gallery: bool = True,
    optuna: bool = True,
    per_class: int = 2,
) -> Report:
    """The shared fixture plus what it leaves out: effects, noise, findings, warnings, a
    gallery of real images with five methods, a failed and a missing run, Optuna parts.
    With `hostile`, user strings carry markup: experiment, a run name, a factor value, a
    failure reason."""
    report = make_report(n_seeds)
    if hostile:
        report = _substitute(report, "flatten", "flat" + HOSTILE)
    runs = list(report.runs)
    runs[-1] = dataclasses.replace(
        runs[-1],
        state="failed",
        reason=("boom " + HOSTILE) if hostile else "CUDA out of memory: tried to allocate 2 GiB",
        metrics={},
        curves={},
    )
    if n_seeds > 1:
        runs[-2] = dataclasses.replace(runs[-2], run_id="", state="missing", metrics={}, curves={})
    if hostile:
        runs[0] = dataclasses.replace(runs[0], name="run " + HOSTILE)
    runs = [
        dataclasses.replace(
            r,
            metrics={**r.metrics, "best_val_acc": r.metrics["test_acc"] + 0.01}
            if "test_acc" in r.metrics
            else r.metrics,
        )
        for r in runs
    ]
    report = dataclasses.replace(report, runs=runs)
    effects = _effects(report)
    noise = [
        SeedNoise(
            resp.key,
            0.6,
            12,
            n_seeds,
            1.4 if n_seeds > 1 else None,
            1.0,
            8 if n_seeds > 1 else None,
        )
        for resp in report.responses
    ]
    a, b = report.interaction or ("", "")
    interactions = [
        Effect(
            "test_acc",
            f"{a}*{b}",
            "(3, flatten)",
            "(1, GAP)",
            -0.6,
            -1.9,
            0.7,
            3,
            "paired",
            n_seeds,
            p=0.3,
            p_holm=0.6,
            verdict="no clear difference",
        )
    ]
    extra: dict[str, Any] = {
        "effects": effects,
        "noise": noise,
        "interactions": interactions,
        "findings": [
            "stride 1 beats stride 3 by 13.2 points (95% CI 11.9 to 14.5, 3 seeds, paired).",
            "head flatten vs GAP: no clear difference (−1.4 to +0.6).",
        ],
        "warnings": ["1 design point has no run yet (missing)", "1 run failed: see Design"],
        "generated": 1.7e9 + 4000,
    }
    if gallery:
        extra["gallery"] = _gallery(report, per_class, report.classes)
    else:
        extra["gallery"] = None
    if optuna:
        svgs = [_placeholder_svg(t) for t in ("history", "importances", "parallel coordinates")]
        extra["optuna"] = OptunaFigures(*svgs, "importances are fANOVA estimates (seed 0)")
        extra["scientific"] = [
            ScientificRow(
                {"model.stride": 1},
                {"train.lr": 0.0021},
                report.cells["test_acc"][next(iter(report.cells["test_acc"]))],
                report.cells["test_acc"][next(iter(report.cells["test_acc"]))],
                12,
                ["train.lr = 0.0098 is at the top of its range [0.0001, 0.01]"],
            )
        ]
    if hostile:
        prov = dataclasses.replace(
            report.provenance, experiment="exp " + HOSTILE, command="ablate run " + HOSTILE
        )
        extra["provenance"] = prov
        # a parameter name with markup too (its short name is the last dotted part)
        return _substitute(
            dataclasses.replace(report, **extra), "model.stride", "model.s" + HOSTILE
        )
    return dataclasses.replace(report, **extra)


def tuned_report() -> Report:
    """`rich_report` as an Optuna sweep looks (issue 15, item 6): three tuned parameters
    with long values, long run names, a wordy best-setting row with range warnings, and
    every runs-table metric. The widest tables the page makes."""
    report = rich_report(gallery=False)
    tuned = [Factor(k, (), "nuisance") for k in ("train.lr", "train.weight_decay", "model.width")]
    runs = []
    for i, r in enumerate(report.runs):
        values = {"train.lr": 0.000750195 * (i + 1), "train.weight_decay": 1.23456e-5 * (i + 1)}
        values["model.width"] = 16 * (1 + i % 4)
        name = " ".join(f"{k.split('.')[-1]}={v:.6g}" for k, v in values.items())
        metrics = {**r.metrics, "params": 216458.0, "flops_per_image": 7.356e7} if r.metrics else {}
        runs.append(
            dataclasses.replace(
                r,
                name=f"{name} stride={r.factors['model.stride']} trial={i}",
                factors={**r.factors, **values},
                metrics=metrics,
            )
        )
    best = dataclasses.replace(
        report.scientific[0],
        nuisance={"train.lr": 0.00987654, "train.weight_decay": 1.23e-6, "model.width": 64},
        edge_warnings=[
            "train.lr = 0.00987654 is at the top of its range [0.0001, 0.01]",
            "train.weight_decay = 1.23e-06 is at the bottom of its range [1e-06, 0.001]",
        ],
    )
    # the longest verdicts: what would settle each unclear one
    effects = [
        dataclasses.replace(e, seeds_needed=18) if e.verdict == "no clear difference" else e
        for e in report.effects
    ]
    return dataclasses.replace(
        report,
        kind="optuna",
        factors=[*report.factors, *tuned],
        runs=runs,
        effects=effects,
        scientific=[best, dataclasses.replace(best, scientific={"model.stride": 2})],
    )


def _placeholder_svg(title: str) -> str:
    """Stands in for an Optuna figure (Optuna's own plots are tested with the plots)."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 200" width="100%" '
        'style="max-width:640px;height:auto" role="img"><rect x="0.5" y="0.5" width="639" '
        'height="199" fill="#f6f8fa" stroke="#d8dee4"/><text x="320" y="105" '
        f'text-anchor="middle" font-size="16" fill="#59636e">Optuna {title}</text></svg>'
    )


def _substitute(obj: Any, old: str, new: str) -> Any:
    """`obj` with every string (values and dict keys) having `old` replaced by `new`."""
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, dict):
        return {_substitute(k, old, new): _substitute(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_substitute(v, old, new) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_substitute(v, old, new) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {
            f.name: _substitute(getattr(obj, f.name), old, new) for f in dataclasses.fields(obj)
        }
        return dataclasses.replace(obj, **fields)
    return obj


def render_rich(report: Report) -> str:
    """The page with the interaction plot's cells (the fixture's cell intervals)."""
    cells = {}
    if report.interaction:
        a, b = report.interaction
        for config, point in report.config_factors.items():
            if config in report.cells.get("test_acc", {}):
                cells[(point[a], point[b])] = report.cells["test_acc"][config]
    return render(report, cells)


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def page() -> str:
    return render_rich(rich_report())


@pytest.fixture(scope="module")
def hostile_page() -> str:
    return render_rich(rich_report(hostile=True))


def test_every_section_has_its_id(page: str) -> None:
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page, sid
    assert page.startswith("<!doctype html>")


def test_user_strings_are_escaped_everywhere(hostile_page: str) -> None:
    assert "<script>alert" not in hostile_page
    assert "alert(1)" in hostile_page  # the text is there, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_page
    # only our two script blocks
    assert hostile_page.count("<script") == 2
    # experiment, run name, factor value and failure reason all reach the page
    for text in (
        "exp &lt;script&gt;",
        "run &lt;script&gt;",
        "flat&lt;script&gt;",
        "boom &lt;script&gt;",
        "s&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;=",  # factor name=level
    ):
        assert text in hostile_page, text
    block = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', hostile_page, re.S
    )
    assert block
    assert "<" not in block.group(1) and "&" not in block.group(1).replace("\\u0026", "")
    data = json.loads(block.group(1))
    assert data["experiment"] == "exp " + HOSTILE
    assert any(r["name"] == "run " + HOSTILE for r in data["runs"])
    assert any(r["reason"] == "boom " + HOSTILE for r in data["runs"])


def test_no_request_leaves_the_page(page: str) -> None:
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert refs
    outside = [u for u in refs if re.match(r"^(?:https?:)?//", u)]
    assert outside == []  # the fixture's runs have no UI link
    assert all(u.startswith(("#", "data:image/png;base64,")) for u in refs), set(refs)
    assert "@import" not in page and "url(http" not in page
    assert "<link" not in page


def test_run_links_are_the_only_outside_urls_and_must_be_http() -> None:
    report = rich_report(gallery=False)
    runs = [
        dataclasses.replace(r, url=f"http://mlflow.example:5000/#/runs/{i}")
        for i, r in enumerate(report.runs)
    ]
    runs[0] = dataclasses.replace(runs[0], url="javascript:alert(1)")
    prov = dataclasses.replace(report.provenance, parent_url="https://mlflow.example/#/p")
    html = render(dataclasses.replace(report, runs=runs, provenance=prov))
    links = re.findall(r'href="(http[^"]*)"', html)
    assert "https://mlflow.example/#/p" in links
    assert sum("mlflow.example:5000" in u for u in links) >= len(runs) - 1
    assert "javascript:" not in html
    assert not re.findall(r'src="http', html)


def test_size_budget_and_images_are_small(page: str) -> None:
    assert len(page.encode()) < 5_000_000
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(uris) > 100
    sizes = sorted(len(u) * 3 // 4 for u in uris)
    assert sizes[len(sizes) // 2] < 3000  # a 32x32 PNG: 1-3 KB


def test_gallery_states_map_sizes_mistakes_and_na(page: str) -> None:
    assert "Grad-CAM on a 1x1 map" in page
    assert "n/a: CAM needs a GAP head" in page
    assert "✗" in page and 'class="gc wrong"' in page
    assert "image-rendering: pixelated" in page
    assert 'role="tab"' in page and 'aria-selected="true"' in page
    assert "per image by its own maximum" in page


def test_verdicts_findings_and_warnings_are_shown(page: str) -> None:
    assert 'class="verdict v-better"' in page or 'class="verdict v-worse"' in page
    assert "stride 1 beats stride 3 by 13.2 points" in page
    assert 'class="callout"' in page and "1 run failed" in page
    assert "importances are" in page.lower() and "estimates" in page


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gallery": False},
        {"optuna": False},
        {"n_seeds": 1},
    ],
)
def test_missing_parts_still_render(kwargs: dict[str, Any]) -> None:
    report = rich_report(**kwargs)
    html = render(report)  # no interaction cells either
    for sid in ("provenance", "design", "findings", "effects", "gallery", "runs"):
        assert f'<section id="{sid}">' in html
    if kwargs.get("gallery") is False:
        assert "No explanations were logged" in html
    if kwargs.get("optuna") is False:
        assert 'id="optuna"' not in html
    if kwargs.get("n_seeds") == 1:
        assert 'class="verdict v-n-1"' in html and "run more seeds" in html


def test_optuna_sweep_with_a_nuisance_factor() -> None:
    report = rich_report(gallery=False)
    lr = Factor("train.lr", (), "nuisance")
    runs = [
        dataclasses.replace(r, factors={**r.factors, lr.key: 0.001 * (i + 1)})
        for i, r in enumerate(report.runs)
    ]
    html = render(
        dataclasses.replace(report, kind="optuna", factors=[*report.factors, lr], runs=runs)
    )
    assert 'data-key="train.lr" data-numeric' in html  # sorts as numbers
    assert "by lr" not in html  # no effect or curve plots over a nuisance factor
    assert 'class="state s-finished"' in html and "optuna sweep" in html


def test_nothing_finished_yet() -> None:
    report = make_report(3)
    runs = [dataclasses.replace(r, state="running", metrics={}, curves={}) for r in report.runs]
    empty = dataclasses.replace(
        report,
        runs=runs,
        cells={},
        cell_values={},
        confusion={},
        gallery=None,
        faith_curves=[],
        interaction=None,
        responses=[],
    )
    html = render(empty)
    assert 'class="state s-running"' in html
    assert "No confusion matrices yet" in html


def test_big_sweep_fits_its_budget_with_one_probe_per_class() -> None:
    """36 gallery columns and 108 runs (full.yaml's size): one probe image per class,
    said on the page, and the page under 15 MB."""
    report = rich_report(optuna=False)
    assert report.gallery is not None
    columns = [
        dataclasses.replace(c, config=f"{c.config} #{i}")
        for i in range(6)
        for c in report.gallery.columns
    ]
    runs = [dataclasses.replace(r, name=f"{r.name} #{i}") for i in range(6) for r in report.runs]
    big = dataclasses.replace(
        report, runs=runs, gallery=dataclasses.replace(report.gallery, columns=columns)
    )
    html = render(big)
    assert len(columns) >= 30 and len(runs) >= 100
    assert "one probe image per class" in html
    rows = re.findall(r'<th scope="row" class="orig">', html)
    assert len(rows) == len(set(report.gallery.labels))
    assert len(html.encode()) < 15_000_000


def test_images_png_and_overlay() -> None:
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :16] = 255
    png = png_bytes(rgb)
    assert png.startswith(b"\x89PNG")
    back = np.asarray(Image.open(io.BytesIO(png)))
    assert (back == rgb).all()
    heat = np.zeros((32, 32))
    heat[0, 0] = 1.0
    over = np.asarray(Image.open(io.BytesIO(overlay_png(rgb, heat, alpha=1.0))))
    assert tuple(over[0, 0]) != tuple(over[0, 1])  # hot pixel differs from cold ones
    assert (over[5:, 20] == over[5, 20]).all()
    assert data_uri(png).startswith("data:image/png;base64,iVBOR")
    coarse = np.asarray(Image.open(io.BytesIO(overlay_png(rgb, np.eye(2), alpha=1.0))))
    assert (coarse[:16, :16] == coarse[0, 0]).all() and (coarse[0, 0] != coarse[0, 16]).any()
    with pytest.raises(ValueError):
        overlay_png(rgb, np.zeros((5, 5)))


# --------------------------------------------------------------------------- issue 15, E


def test_long_sections_fold_behind_their_verdict_counts() -> None:
    """An effects table of more than FOLD_ROWS rows starts folded, its summary counting
    the verdicts; the explanation numbers always start folded; short tables stay open."""
    report = rich_report(gallery=False, optuna=False)
    acc = [e for e in report.effects if e.response == "test_acc"]
    many = [dataclasses.replace(e, level=f"{e.level}#{i}") for i in range(4) for e in acc]
    folds = dict(
        (summary, bool(opened))
        for opened, summary in re.findall(
            r'<details class="fold"( open)?>\s*<summary>([^<]*)</summary>',
            render(dataclasses.replace(report, effects=[*report.effects, *many])),
        )
    )
    verdicts = {v: sum(e.verdict == v for e in acc) * 5 for v in {e.verdict for e in acc}}
    counts = ", ".join(
        f"{verdicts[v]} {v}" for v in ("better", "worse", "no clear difference") if v in verdicts
    )
    assert folds[f"{5 * len(acc)} effects: {counts}"] is False  # long: folded
    xai = [s for s in folds if s.startswith(f"{len(_xai_effects(report))} effect")]
    assert xai and folds[xai[0]] is False  # explanations: folded however short
    cost = [e for e in report.effects if e.response in ("train_seconds", "flops")]
    assert any(s.startswith(f"{len(cost)} effects:") and opened for s, opened in folds.items())


def _xai_effects(report: Report) -> list[Effect]:
    return [e for e in report.effects if e.response.startswith("xai.")]


def test_cam_tab_is_left_out_when_no_configuration_has_a_gap_head() -> None:
    report = rich_report(optuna=False)
    assert report.gallery is not None
    columns = [
        dataclasses.replace(
            c, na={**c.na, "cam": "CAM needs a GAP head"}, cells={**c.cells, "cam": []}
        )
        for c in report.gallery.columns
    ]
    html = render(
        dataclasses.replace(report, gallery=dataclasses.replace(report.gallery, columns=columns))
    )
    assert 'data-method-tab="cam"' not in html and 'data-method="cam"' not in html
    said = "CAM is not shown: CAM needs a GAP head (true of every configuration here)."
    assert html.count(said) == 1
    assert 'data-method-tab="gradcam"' in html  # the others stay
    assert 'data-method-tab="cam"' in render(report)  # with one GAP head, CAM has its tab


@pytest.mark.parametrize(
    ("verdict", "extra", "shown"),
    [
        ("equivalent", {"margin": 1.0}, "equivalent within ±1 point"),
        (
            "no clear difference",
            {"seeds_needed": 9},
            "no clear difference: about 9 seeds per cell would settle it",
        ),
        ("exact", {"method": "exact", "lo": None, "hi": None}, "exact (the same on every seed)"),
    ],
)
def test_equivalence_and_exact_verdicts_read_as_sentences(
    verdict: str, extra: dict[str, Any], shown: str
) -> None:
    report = rich_report(gallery=False, optuna=False)
    first = dataclasses.replace(report.effects[0], verdict=verdict, **extra)
    html = render(dataclasses.replace(report, effects=[first, *report.effects[1:]]))
    cls = re.sub(r"[^a-z0-9]+", "-", verdict).strip("-")
    assert f'<span class="verdict v-{cls}">{shown}' in html
