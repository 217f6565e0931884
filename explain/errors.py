"""Errors of the middle floor. The CLI (in `ablate`) turns each into one paragraph
and `exit_code`; nothing here prints or exits."""


class ExplainError(Exception):
    """A problem the user can fix in the explanation settings or inputs. Exit code 2."""

    exit_code = 2


class ExplainConfigError(ExplainError):
    """An explanation setting names something that does not exist (a layer, a method, a class)."""


class MethodNotApplicable(ExplainError):
    """The model's architecture does not support this method (e.g. CAM on a flatten head)."""
