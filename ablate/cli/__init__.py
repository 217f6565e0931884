"""The cli room."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ablate.cli.app import app as app

# name -> module: the door loads a module when one of its names is first used, so that
# importing the room stays cheap (no torch, no mlflow until they are needed)
_WHERE = {
    "app": "ablate.cli.app",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
