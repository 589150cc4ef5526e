"""Optional dependencies (the package's extras), imported only by the features that need them.

A user without an extra gets one line naming the feature and the pip command that adds it,
instead of a traceback from deep inside an import.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError

PACKAGE = "larun-lake"


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module` (for example "distributed") and return it, or raise ConfigError naming `extra`.

    `feature` says in the user's words what needs it, e.g. "the dask executor".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{feature} needs the '{extra}' extra; {_why(module, exc)}",
            hint=f"install it: pip install '{PACKAGE}[{extra}]'",
        ) from exc


def _why(module: str, exc: ImportError) -> str:
    missing = getattr(exc, "name", None)
    if missing and (module == missing or module.startswith(missing + ".")):
        return f"{missing} is not installed"
    # The module is there but one of its own imports failed: an incomplete or mismatched install.
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"importing {module} failed: {reason}"
