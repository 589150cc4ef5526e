"""A feature whose optional dependency is missing says, in one line, which extra to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from larun_lake.errors import EXIT_LAKE, ConfigError
from larun_lake.extras import require


def test_an_installed_extra_is_imported_and_returned() -> None:
    distributed = require("distributed", "dask", "the dask executor")
    assert distributed is sys.modules["distributed"]
    assert hasattr(distributed, "Client")


def test_a_missing_module_names_the_feature_and_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import distributed` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError) as caught:
        require("distributed", "dask", "the dask executor")
    assert str(caught.value) == (
        "the dask executor needs the 'dask' extra; distributed is not installed "
        "(install it: pip install 'larun-lake[dask]')"
    )
    assert caught.value.exit_code == EXIT_LAKE


def test_a_submodule_of_a_package_that_is_not_installed_names_the_package() -> None:
    with pytest.raises(ConfigError, match=r"^a lake on S3 needs the 's3' extra; larun_lake_absent is not installed \("):
        require("larun_lake_absent.core", "s3", "a lake on S3")


def test_a_module_whose_own_dependency_is_missing_says_what_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half_installed_extra.py").write_text("import larun_lake_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        require("half_installed_extra", "dask", "the dask executor")
    assert str(caught.value) == (
        "the dask executor needs the 'dask' extra; importing half_installed_extra failed: "
        "No module named 'larun_lake_no_such_dependency' (install it: pip install 'larun-lake[dask]')"
    )
    assert "\n" not in str(caught.value)
