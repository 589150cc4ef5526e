"""Optional dependencies: a missing one is one line saying which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError


def require(module: str, extra: str, feature: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{feature} need the '{extra}' extra ({module} is not installed)",
            hint=f"pip install 'larun-lake[{extra}]'",
        ) from None
