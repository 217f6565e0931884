"""Optuna sweeps: Optuna's own matplotlib plots (history, importances, parallel
coordinates), rendered to inline SVG. Offered by the `ablate.report.figures` door."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import matplotlib
import optuna
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ablate.report.figures.style import WIDTH_IN
from ablate.report.figures.svg import to_svg
from ablate.stats.model import OptunaFigures

NOTE = (
    "Parameter importances are fANOVA estimates from a random forest (seed 0) fitted to the "
    "finished trials; they change as trials are added."
)


def _render(draw: Callable[[], Axes]) -> str:
    """Call one of Optuna's plot functions and return its figure as SVG.

    Optuna styles with `plt.style.use("ggplot")`, which would change the caller's
    rcParams for good; `rc_context` restores them. The pyplot figure is closed here.
    """
    import matplotlib.pyplot as plt  # Optuna draws with pyplot; imported only when needed

    with matplotlib.rc_context():
        ax = draw()
        fig = ax.figure
        try:
            fig.set_size_inches(WIDTH_IN, 3.6)  # type: ignore[union-attr]
            _clear_colorbar(fig)  # type: ignore[arg-type]
            return to_svg(fig, tight=True)  # type: ignore[arg-type]
        finally:
            plt.close(fig)  # type: ignore[arg-type]


def _clear_colorbar(fig: Figure) -> None:
    """Move a colorbar right of the other axes' tick labels: in the parallel-coordinate
    plot the last parameter's labels (e.g. 6x10^-3) otherwise run into it."""
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    if not bars:
        return
    fig.draw_without_rendering()
    others = [ax.get_tightbbox() for ax in fig.axes if ax not in bars]
    right = max(b.x1 for b in others if b is not None) / fig.bbox.width
    for bar in bars:
        box = bar.get_position()
        if box.x0 < right + 0.02:
            bar.set_position((right + 0.02, box.y0, box.width, box.height))


def optuna_figures(
    trials: list[optuna.trial.FrozenTrial], direction: str, params: Sequence[str]
) -> OptunaFigures:
    """Optimisation history, fANOVA parameter importances (seed 0; "" when fewer than two
    complete trials, or no parameter varies) and parallel coordinates of `trials`."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    try:
        study = optuna.create_study(direction=optuna.study.StudyDirection[direction.upper()])
    finally:
        optuna.logging.set_verbosity(verbosity)
    study.add_trials(trials)
    names = list(params) or None
    vis = optuna.visualization.matplotlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # a parameter with one value gives a flat axis; Optuna draws it, matplotlib warns
        warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
        history = _render(lambda: vis.plot_optimization_history(study))
        parallel = _render(lambda: vis.plot_parallel_coordinate(study, params=names))
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        importances = ""
        if len(complete) >= 2:
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            try:
                importances = _render(
                    lambda: vis.plot_param_importances(study, evaluator=evaluator, params=names)
                )
            except RuntimeError as exc:  # "Encountered zero total variance in all trees."
                if "zero total variance" not in str(exc):
                    raise
    return OptunaFigures(
        history_svg=history, importances_svg=importances, parallel_svg=parallel, note=NOTE
    )
