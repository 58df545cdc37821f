"""Running rbee as another user (`nobody`), wherever the checkout is.

Root reads every file, so the tests of permission errors run rbee as `nobody` through `setpriv`.
`nobody` may not be able to enter the checkout (a clone under a home directory of mode 0700 or
0750, or in a fresh `mktemp -d`), so it runs neither the checkout's `.venv` nor its `src/`:
`nobody_command` runs a copy of the `rbee` package in a world-readable temporary directory, with
an interpreter `nobody` can start. rbee-hive and the catalog need only the standard library.

Importable as `tests.unprivileged` (pytest's `pythonpath` puts the repository root on sys.path).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import rbee

AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]

_PROBE = "import sys; assert sys.version_info >= (3, 11)"


@functools.cache
def world_readable_copy() -> Path:
    """A directory everyone may read that holds a copy of the `rbee` package (once a session)."""
    directory = Path(tempfile.mkdtemp(prefix="rbee-as-nobody-"))
    atexit.register(shutil.rmtree, directory, True)
    shutil.copytree(
        Path(rbee.__file__).parent,
        directory / "rbee",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for current, _dirs, files in os.walk(directory):
        os.chmod(current, 0o755)
        for name in files:
            os.chmod(os.path.join(current, name), 0o644)
    return directory


@functools.cache
def nobody_python() -> str:
    """An interpreter (>= 3.11) that `nobody` can start: this one's base, or the system's."""
    candidates = [
        os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        os.path.realpath(sys.executable),
        *(shutil.which(name) or "" for name in ("python3.13", "python3.12", "python3.11")),
        "/usr/bin/python3",
        "/usr/local/bin/python3",
    ]
    for candidate in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run(
            [*AS_NOBODY, candidate, "-I", "-c", _PROBE],
            capture_output=True,
            cwd="/",
            timeout=60,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    raise RuntimeError("no Python >= 3.11 that the user nobody can run")


def nobody_command(*python_args: str) -> list[str]:
    """`python ARGS` as `nobody`, importing rbee from the world-readable copy.

    E.g. `nobody_command("-m", "rbee.hive.cli", "models", "catalog")` or
    `nobody_command("-c", SCRIPT, "arg")`. `-I` (isolated mode) keeps the environment and the
    current directory off sys.path, so the copy is the rbee that runs.
    """
    bootstrap = f"import sys; sys.path.insert(0, {str(world_readable_copy())!r}); import runpy; "
    if python_args[:1] == ("-m",):
        module, rest = python_args[1], python_args[2:]
        code = (
            bootstrap
            + f"sys.argv[0] = {module!r}; "
            + f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
        )
        return [*AS_NOBODY, nobody_python(), "-I", "-c", code, *rest]
    if python_args[:1] == ("-c",):
        script, rest = python_args[1], python_args[2:]
        code = bootstrap + f"exec(compile({script!r}, '<string>', 'exec'))"
        return [*AS_NOBODY, nobody_python(), "-I", "-c", code, *rest]
    raise ValueError("nobody_command takes -m MODULE ... or -c SCRIPT ...")
