"""How long each report plot takes to render to inline SVG (the `*_plot` functions the
page calls: figure built, laid out, saved, post-processed).

    python -m benchmarks.report_plots              # full.yaml fixture + the small one
    python -m benchmarks.report_plots --repeats 5
    python -m benchmarks.report_plots --no-append  # print only

The reports are `tests/report_fixture.make_report(full=True)` (full.yaml's 36
configurations x 3 seeds) and `make_report()` (stride x head, 6 configurations). Every
plot is rendered once to warm up (fonts, imports), then `--repeats` times; the table
gives the median. On a shared, loaded machine only ratios between runs made close
together mean much. The table is appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def _cases() -> list[tuple[str, Callable[[], str]]]:
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import create_trial
    from report_fixture import (
        DEPTH,
        HEAD,
        KERNEL,
        RESPONSES,
        STRIDE,
        interaction_cells,
        make_report,
    )

    from ablate.report import figures as plots

    acc, seconds, flops, xai = RESPONSES
    cases: list[tuple[str, Callable[[], str]]] = []
    for tag, report, factors in (
        ("full", make_report(full=True), [STRIDE, KERNEL, HEAD, DEPTH]),
        ("small", make_report(), [STRIDE, HEAD]),
    ):
        cells = interaction_cells(report)
        for f in factors:
            for r in (acc, xai):
                cases.append(
                    (
                        f"{tag} effect {f.key.split('.')[-1]} {r.key.split('.')[-1]}",
                        lambda rep=report, f=f, r=r: plots.effect_plot(rep, f, r),
                    )
                )
        cases += [
            (
                f"{tag} interaction",
                lambda rep=report, c=cells: plots.interaction_plot(rep, STRIDE, HEAD, acc, c),
            ),
            (f"{tag} curves val_acc", lambda rep=report: plots.curves_plot(rep, STRIDE, "val_acc")),
            (f"{tag} pareto seconds", lambda rep=report: plots.pareto_plot(rep, seconds, acc)),
            (f"{tag} pareto flops", lambda rep=report: plots.pareto_plot(rep, flops, acc)),
            (
                f"{tag} confusion 2",
                lambda rep=report: plots.confusion_plot(
                    rep, [next(iter(rep.confusion)), list(rep.confusion)[-1]]
                ),
            ),
            (f"{tag} per class", lambda rep=report: plots.per_class_plot(rep)),
            (f"{tag} faith gradcam", lambda rep=report: plots.faith_curves_plot(rep, "gradcam")),
        ]

    rng = np.random.default_rng(0)
    dists = {
        "train.lr": FloatDistribution(1e-4, 1e-2, log=True),
        "model.stride": CategoricalDistribution([1, 2, 3]),
    }
    trials = []
    for _ in range(24):
        lr, stride = float(10 ** rng.uniform(-4, -2)), int(rng.integers(1, 4))
        value = 0.8 - 0.05 * stride + 0.01 * np.log10(lr)
        trials.append(
            create_trial(
                params={"train.lr": lr, "model.stride": stride}, distributions=dists, value=value
            )
        )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cases.append(
        (
            "optuna (3 figures)",
            lambda: "".join(
                plots.optuna_figures(trials, "maximize", list(dists)).__dict__.values()
            ),
        )
    )
    return cases


def _time(build: Callable[[], str], repeats: int) -> tuple[float, int]:
    svg = build()  # warm-up
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        svg = build()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(svg.encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--note", default="", help="a line under the table's heading")
    args = parser.parse_args(argv)

    from ablate.runtime import describe

    command = "python -m benchmarks.report_plots" + "".join(f" {a}" for a in argv or sys.argv[1:])
    rows = []
    for name, build in _cases():
        median, size = _time(build, args.repeats)
        rows.append((name, median, size))
        print(f"{name:32s} {median * 1000:8.0f} ms {size / 1000:6.1f} kB", flush=True)
    plain = [(n, t) for n, t, _ in rows if not n.startswith("optuna")]
    total = sum(t for _, t in plain)
    effects = [t for n, t in plain if " effect " in n]
    lines = [
        "",
        f"### Report plot render times ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `{command}`)",
        "",
        f"Machine: {describe()}; Python {platform.python_version()}; shared and loaded "
        "(other engineers' training runs), so compare only runs made close together.",
    ]
    if args.note:
        lines += ["", args.note]
    lines += [
        "",
        f"| plot | median of {args.repeats} (ms) | SVG (kB) |",
        "|---|---|---|",
        *(f"| {n} | {t * 1000:.0f} | {s / 1000:.1f} |" for n, t, s in rows),
        f"| **all but Optuna, sum** | **{total * 1000:.0f}** | |",
        f"| **mean per plot (all but Optuna)** | **{total / len(plain) * 1000:.0f}** | |",
        f"| **mean per effect plot** | **{statistics.mean(effects) * 1000:.0f}** | |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_append:
        with RESULTS.open("a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
