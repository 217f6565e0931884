"""The one place where errors become a message and an exit code.

Domain errors of every floor (`ablate.errors.USER_ERRORS`: `AblateError`,
`LightningModulesError`, `ExplainError`) become one paragraph on stderr and their
`exit_code` (2); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ablate.errors import USER_ERRORS

SWEEP_FAILED = 1  # the sweep ran, and some of its runs failed
USER_ERROR = 2  # the default of errors without their own `exit_code`
INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT (128 + 2)
# PREEMPTED (143): stopped by SIGTERM or SIGUSR1 (ablate.runtime.PREEMPTED_EXIT)


@contextmanager
def user_errors(interrupted: str | None = None) -> Iterator[None]:
    """Turn a user error inside the block into its message and exit code. With
    `interrupted`, Ctrl-C prints that line and exits with INTERRUPTED; a preemption
    signal (SIGTERM, SIGUSR1) prints it too and exits with PREEMPTED_EXIT (143), which
    a SLURM job script takes as "requeue me"."""
    try:
        yield
    except USER_ERRORS as e:
        from rich.markup import escape

        from ablate.runtime import err_console

        # a message quotes user input: "[/x]" in it is text, not Rich markup
        err_console.print(f"[bold red]error:[/bold red] {escape(str(e))}", soft_wrap=True)
        raise typer.Exit(getattr(e, "exit_code", USER_ERROR)) from None
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        from ablate.runtime import PREEMPTED_EXIT, err_console, preempted_by

        signal_name = preempted_by()
        if signal_name is None:
            err_console.print(interrupted)
            raise typer.Exit(INTERRUPTED) from None
        err_console.print(f"Preempted ({signal_name}). {interrupted}")
        raise typer.Exit(PREEMPTED_EXIT) from None
