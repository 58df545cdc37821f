"""Start-up time of the installed `rbee-hive`, against a bare interpreter.

    .venv/bin/python -m bench hive

Times `rbee-hive models catalog` and `rbee-hive models catalog --json` on the seed's four-model
catalog, and `rbee-hive --help`, against `python -c pass` run by the same interpreter the console
script uses (the pyenv `python3` shim on PATH is a shell script and would flatter every ratio).
The four commands are run in turn, round after round, so a load change hits all of them alike;
the figure is the ratio of the medians. Target: <= 4x for each.

The package's bytecode is compiled first, as `pip install` does: with PYTHONDONTWRITEBYTECODE set
(as on some CI machines) every run would otherwise compile the sources again.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 21
WARM_UP_ROUNDS = 3
TARGET_RATIO = 4.0
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "test-models.toml"


def _hive() -> Path:
    hive = Path(sys.executable).parent / "rbee-hive"
    if not hive.exists():
        raise SystemExit(f"{hive} is missing: run `make venv` (pip install -e .) first")
    return hive


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RBEE_")}
    for name in ("NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    env["COLUMNS"] = "100"
    return env


def _time_once(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {completed.stderr.decode(errors='replace')}")
    return elapsed


def measure(rounds: int = ROUNDS) -> dict[str, float]:
    """Median wall time in seconds of each command, measured interleaved."""
    import rbee

    compileall.compile_dir(Path(rbee.__file__).parent, quiet=1)
    hive = str(_hive())
    env = _environment()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "rbee-hive models catalog": [hive, "models", "catalog"],
        "rbee-hive models catalog --json": [hive, "models", "catalog", "--json"],
        "rbee-hive --help": [hive, "--help"],
    }
    with tempfile.TemporaryDirectory(prefix="rbee-bench-hive-") as directory:
        pool = Path(directory)
        subprocess.run(
            [hive, "--pool-id", "mac.home.arpa", "models", "register", "--from", str(EXAMPLES)],
            cwd=pool,
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_number in range(WARM_UP_ROUNDS + rounds):
            for name, command in commands.items():
                elapsed = _time_once(command, pool, env)
                if round_number >= WARM_UP_ROUNDS:
                    times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    medians = measure()
    base = medians["python -c pass"]
    print(f"start-up time, medians of {ROUNDS} interleaved runs (target <= {TARGET_RATIO:g}x)")
    missed = False
    for name, median in medians.items():
        ratio = median / base
        verdict = ""
        if name != "python -c pass":
            ok = ratio <= TARGET_RATIO
            missed = missed or not ok
            verdict = "ok" if ok else "MISSED"
        print(f"  {name:<34} {median * 1000:7.1f} ms  {ratio:5.2f}x  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
