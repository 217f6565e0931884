"""Errors of the bottom floor. The CLI (in `ablate`) turns each into one paragraph
and `exit_code`; nothing here prints or exits."""


class LightningModulesError(Exception):
    """A problem the user can fix in the model, data or training settings. Exit code 2."""

    exit_code = 2


class DataError(LightningModulesError):
    """Data could not be found, fetched or decoded."""


class InvalidPointError(LightningModulesError):
    """A model config that cannot be built, e.g. a feature map shrinking below 1x1."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. Not a user error of the whole sweep: only this
    point fails (with the message as its reason), and the sweep goes on."""
