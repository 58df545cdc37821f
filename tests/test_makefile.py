"""`make demo` installs only what the demo needs; `make test` installs the test toolchain
(issue 8 §1). Read from make's own dry run (`make -n`) for a fresh virtual environment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def planned(target: str, venv: Path) -> list[str]:
    """The commands `make TARGET` would run with no virtual environment yet."""
    result = subprocess.run(
        ["make", "-n", "-C", str(REPO), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def installs(lines: list[str]) -> list[str]:
    return [line.split(" install ", 1)[1] for line in lines if "-m pip install" in line]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_demo_installs_the_runtime_only_and_test_the_rest(tmp_path: Path) -> None:
    venv = tmp_path / "fresh-venv"
    demo = planned("demo", venv)
    assert installs(demo) == ["--quiet --upgrade pip", "--quiet -e ."]
    assert any("rbee-hive" in line and "register" in line for line in demo)
    test = installs(planned("test", venv))
    assert test == ["--quiet --upgrade pip", "--quiet -e .", "--quiet -e '.[dev]'"]
    assert not venv.exists()  # a dry run
