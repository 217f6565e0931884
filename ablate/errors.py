"""Domain errors. Library code raises these; only `ablate.cli` (`ablate.cli.exits`) turns them into
a message and an exit code.

Each floor owns its errors (`lightning_modules.errors`, `explain.errors`);
`USER_ERRORS` is every floor's base, which the CLI catches.
"""

from explain.errors import ExplainConfigError, ExplainError
from lightning_modules.errors import DataError, InvalidPointError, LightningModulesError

__all__ = [
    "USER_ERRORS",
    "AblateError",
    "ConfigError",
    "DataError",
    "ExplainConfigError",
    "ExplainError",
    "InvalidPointError",
    "LightningModulesError",
]


class AblateError(Exception):
    """A problem the user can fix: bad config, missing data. Exit code 2."""

    exit_code = 2


class ConfigError(AblateError):
    """A search space or override is invalid. The message names file, key, value, allowed."""


# what the CLI turns into one paragraph and `exit_code`; the sweep stops on these
USER_ERRORS: tuple[type[Exception], ...] = (AblateError, LightningModulesError, ExplainError)
