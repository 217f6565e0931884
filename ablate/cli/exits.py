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


@contextmanager
def user_errors(interrupted: str | None = None) -> Iterator[None]:
    """Turn a user error inside the block into its message and exit code. With
    `interrupted`, Ctrl-C prints that line and exits with INTERRUPTED."""
    try:
        yield
    except USER_ERRORS as e:
        from ablate.runtime import err_console

        err_console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
        raise typer.Exit(getattr(e, "exit_code", USER_ERROR)) from None
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        from ablate.runtime import err_console

        err_console.print(interrupted)
        raise typer.Exit(INTERRUPTED) from None
