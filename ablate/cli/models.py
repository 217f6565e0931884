"""`ablate models`: the model presets a space can name."""

from __future__ import annotations


def models() -> None:
    """List the model presets (use as model.preset in a space)."""
    from ablate.inspection import print_presets

    print_presets()
