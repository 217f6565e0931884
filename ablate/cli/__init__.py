"""The cli room: the `ablate` command line. `app` is the Typer app, `main` the script;
one module per command (run, report, status, models, explain), shared options in
`options`, and errors turned into messages and exit codes in `exits` only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.cli.typer_app import app as app
    from ablate.cli.typer_app import main as main

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "app": "ablate.cli.typer_app",
    "main": "ablate.cli.typer_app",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
