"""The tests that run as `nobody` work wherever the checkout is (issue 8 §4).

A clone under a home directory of mode 0700, or in a fresh `mktemp -d`, is closed to `nobody`:
such tests must run rbee through `tests.unprivileged`, never the checkout's `.venv` or `src/`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.unprivileged import nobody_command

REPO = Path(__file__).resolve().parents[1]


def test_nobody_runs_rbee_from_outside_the_checkout() -> None:
    command = nobody_command("-c", "import sys, rbee; print(rbee.__file__); print(sys.executable)")
    assert not any(str(REPO) in part for part in command)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    package, interpreter = result.stdout.splitlines()
    assert not package.startswith(str(REPO))
    assert not interpreter.startswith(str(REPO))
    hive = subprocess.run(
        nobody_command("-m", "rbee.hive.cli", "--version"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd="/",
    )
    assert hive.stdout.startswith("rbee-hive ")


def test_every_test_that_changes_user_goes_through_the_helper() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path.name != "unprivileged.py"
        and path != Path(__file__).resolve()
        and ("setpriv" in path.read_text() or "--reuid" in path.read_text())
    ]
    assert offenders == [], "run rbee as another user with tests.unprivileged.nobody_command"
