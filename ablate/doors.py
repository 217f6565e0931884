"""Lazy doors. A room's `__init__` names what the room offers (`_WHERE`: name -> module)
and loads a module only when one of its names is first used, so that importing a room
stays cheap: no torch, no mlflow until they are needed (`ablate --help` in 0.2 s)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: imports `where[name]` on first use and
    keeps the value in the package, so the second use is a plain attribute."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
