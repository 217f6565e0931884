"""The cli room: the `ablate` command line. `app` is the Typer app, `main` the script;
one module per command (run, report, status, models, explain), shared options in
`options`, and errors turned into messages and exit codes in `exits` only."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ablate.cli.typer_app import app as app
    from ablate.cli.typer_app import main as main

# name -> module: the door loads a module when one of its names is first used, so that
# importing the room stays cheap (no torch, no mlflow until they are needed)
_WHERE = {
    "app": "ablate.cli.typer_app",
    "main": "ablate.cli.typer_app",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
