"""`llorch fleet` over 8 fake pools against `llorch pool models catalog --all`.

Each pool is a real sshd on 127.0.0.1 (bench/sshhosts.py, as bench_keeper.py) with the seed's
four test models in its catalog. fleet makes one ssh call per pool (`rbee-hive pool report
--json`: catalog + free disk), all at once, like `catalog --all`; the target is that the whole
table costs at most 1.2x the plain catalog listing. Measured in rotation (so a change in the
machine's load falls on all), median of ROUNDS, with and without a warm ControlMaster.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time

from bench.sshhosts import SshHosts, interpreter_bin_dir

POOLS = 8
ROUNDS = 9
TARGET_RATIO = 1.2
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "test-models.toml")


def _timed(argv: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in ok_codes:
        raise RuntimeError(f"{argv} failed: {result.stderr.decode(errors='replace')}")
    return elapsed


def _rotated(commands: list[list[str]], env: dict[str, str]) -> list[float]:
    """Medians of commands timed in rotation (each round starts with the next one), so that a
    change in the machine's load falls on all alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for round_number in range(ROUNDS):
        for offset in range(len(commands)):
            index = (round_number + offset) % len(commands)
            samples[index].append(_timed(commands[index], env))
    return [statistics.median(times) for times in samples]


def main() -> int:
    bin_dir = interpreter_bin_dir()
    llorch = str(bin_dir / "llorch")
    with SshHosts() as hosts:
        names = [f"pool{i}.home.arpa" for i in range(POOLS)]
        for name in names:
            pool = hosts.add_pool(name)
            register = ["models", "register", "-q", "--from", EXAMPLES]
            subprocess.run(
                [str(bin_dir / "rbee-hive"), "--pool-id", name, *register],
                cwd=pool.workdir,
                capture_output=True,
                timeout=60,
                check=True,
            )
        pools_file = hosts.dir / "pools.toml"
        pools_file.write_text("".join(f'[pools."{name}"]\n' for name in names))
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith("RBEE_") and k != "FORCE_COLOR"
        }
        base_env["RBEE_POOLS"] = str(pools_file)
        met = True
        print(f"{POOLS} pools, median of {ROUNDS} runs each, measured in rotation")
        for mode, ssh_command in (
            ("no ControlMaster", hosts.ssh_command_without_master()),
            ("warm ControlMaster", hosts.ssh_command),
        ):
            env = {**base_env, "RBEE_SSH_COMMAND": ssh_command}
            if mode.startswith("warm"):
                for name in names:  # open every master before timing
                    _timed([*ssh_command.split(), name, "true"], env)
            fleet, fleet_json, catalog = _rotated(
                [
                    [llorch, "fleet", "--all"],
                    [llorch, "fleet", "--all", "--json"],
                    [llorch, "pool", "models", "catalog", "--all"],
                ],
                env,
            )
            ratio = fleet / catalog
            ok = ratio <= TARGET_RATIO
            met = met and ok
            print(f"\n[{mode}]")
            print(f"  llorch fleet --all                   {fleet * 1000:8.1f} ms")
            print(f"  llorch fleet --all --json            {fleet_json * 1000:8.1f} ms")
            print(f"  llorch pool models catalog --all     {catalog * 1000:8.1f} ms")
            print(
                f"  fleet / catalog                      {ratio:8.2f}x  "
                f"(target <= {TARGET_RATIO}x: {'met' if ok else 'MISSED'})"
            )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
