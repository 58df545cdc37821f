"""Suite-wide fixtures.

Every test runs with the user's rbee settings pointed away: no RBEE_* variable leaks in from the
developer's shell, and the user config dir and HOME-relative paths land in a temp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_USER_VARIABLES = (
    "RBEE_ROOT",
    "RBEE_CATALOG",
    "RBEE_POOL_ID",
    "RBEE_POOLS",
    "RBEE_SSH_COMMAND",
    "RBEE_DEBUG",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
)


@pytest.fixture(autouse=True)
def isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point every user directory rbee might touch at a fresh temp dir."""
    home = tmp_path_factory.mktemp("home")
    for name in _USER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("COLUMNS", "100")
    yield home
    assert "RBEE_DEBUG" not in os.environ or os.environ["RBEE_DEBUG"] != "leak"
