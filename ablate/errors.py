"""Domain errors. Library code raises these; only `ablate.cli` turns them into
a message and an exit code."""


class AblateError(Exception):
    """A problem the user can fix: bad config, missing data. Exit code 2."""

    exit_code = 2


class ConfigError(AblateError):
    """A search space or override is invalid. The message names file, key, value, allowed."""


class DataError(AblateError):
    """Data could not be found, fetched or decoded."""


class InvalidPointError(AblateError):
    """A model config that cannot be built, e.g. a feature map shrinking below 1x1."""
