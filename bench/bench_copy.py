"""`llorch models copy` of a 1 GB model between two pools, against the same bytes piped by hand.

Two fake pools (real sshd processes on 127.0.0.1, bench/sshhosts.py, warm ControlMasters); the
source holds a 1 GB model (one 1 GB safetensors-sized file of random bytes plus a config), with
its file record made beforehand. Timed in the same run, alternating, best of ROUNDS each:

- baseline: `ssh A cat FILE | ssh B 'cat > FILE'` (the 1 GB file only);
- llorch: `llorch models copy ID --from A --to B -q` (the whole command: the source's manifest,
  the destination's plan, the bytes relayed through llorch, every file's sha256 checked on
  arrival, the rename and the catalog transaction). The destination is emptied before each run.

Target: llorch's throughput >= 0.8x the baseline's (time ratio baseline / llorch).

Also printed (no target): why copy streams rather than running rsync. rsync cannot copy between
two remote hosts through a third (it refuses two remote ends), so it could only be used for one
hop; the same file is timed going one hop from this machine with `rsync -e ssh` and with
`cat FILE | ssh B 'cat > FILE'`, when rsync is installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from bench.sshhosts import SshHosts, interpreter_bin_dir

SIZE = 1_000_000_000
ROUNDS = 4
TARGET = 0.8
SOURCE = "a.home.arpa"
DESTINATION = "b.home.arpa"
MODEL = "bench-1gb"
FILE = "model.safetensors"


def _write_model(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(16 << 20)
    with open(folder / FILE, "wb") as file:
        left = SIZE
        while left:
            left -= file.write(block[: min(len(block), left)])
    (folder / "config.json").write_text('{"model_type": "llama"}')


def _run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    done = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {done.stderr.decode(errors='replace')[-500:]}")


def _timed_shell(command: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=900,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    _run(argv, env)
    return time.perf_counter() - started


def main() -> int:
    bin_dir = interpreter_bin_dir()
    hive = str(bin_dir / "rbee-hive")
    llorch = str(bin_dir / "llorch")
    with SshHosts() as hosts:
        source = hosts.add_pool(SOURCE)
        destination = hosts.add_pool(DESTINATION)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RBEE_")}
        pools_file = hosts.dir / "pools.toml"
        pools_file.write_text(f'[pools."{SOURCE}"]\n\n[pools."{DESTINATION}"]\n')
        env["RBEE_POOLS"] = str(pools_file)
        env["RBEE_SSH_COMMAND"] = hosts.ssh_command
        folder = source.workdir / ".test-models" / MODEL
        _write_model(folder)
        hive_env = {**env, "RBEE_POOL_ID": SOURCE}
        _run([hive, "models", "register", MODEL, "--name", "Bench 1 GB", "--arch", "llama",
              "--downloaded", "--size-gb", "1.0", "-q"], hive_env, source.workdir)  # fmt: skip
        _run([hive, "models", "record", MODEL, "-q"], hive_env, source.workdir)
        ssh = hosts.ssh_command
        for name in (SOURCE, DESTINATION):
            _run([*shlex.split(ssh), name, "true"], env)  # warm the ControlMasters
        src_file = shlex.quote(str(folder / FILE))
        dst_file = shlex.quote(str(destination.workdir / "piped.bin"))
        pipe = f"{ssh} {SOURCE} cat {src_file} | {ssh} {DESTINATION} 'cat > {dst_file}'"
        copy = [llorch, "models", "copy", MODEL, "--from", SOURCE, "--to", DESTINATION, "-q"]
        piped: list[float] = []
        copied: list[float] = []
        for _ in range(ROUNDS):
            shutil.rmtree(destination.workdir / ".test-models", ignore_errors=True)
            (destination.workdir / "piped.bin").unlink(missing_ok=True)
            piped.append(_timed_shell(pipe, env))
            (destination.workdir / "piped.bin").unlink(missing_ok=True)
            copied.append(_timed(copy, env))
        best_pipe, best_copy = min(piped), min(copied)
        ratio = best_pipe / best_copy
        met = ratio >= TARGET
        print(f"1 GB model between two pools, best of {ROUNDS} (alternating):")
        print(f"  ssh A cat FILE | ssh B 'cat > FILE': {best_pipe:6.2f} s  "
              f"({SIZE / best_pipe / 1e6:6.1f} MB/s)  runs {_list(piped)}")  # fmt: skip
        print(f"  llorch models copy:                  {best_copy:6.2f} s  "
              f"({SIZE / best_copy / 1e6:6.1f} MB/s)  runs {_list(copied)}")  # fmt: skip
        print(f"  throughput llorch / pipe: {ratio:.2f}x (target >= {TARGET}x): "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
        if shutil.which("rsync"):
            _rsync_figures(folder / FILE, destination.workdir, ssh, env)
    return 0 if met else 1


def _rsync_figures(path: Path, workdir: Path, ssh: str, env: dict[str, str]) -> None:
    """One hop from this machine: rsync over ssh against a plain stream (informational)."""
    target = shlex.quote(str(workdir / "one-hop.bin"))
    stream = f"cat {shlex.quote(str(path))} | {ssh} {DESTINATION} 'cat > {target}'"
    rsync = f"rsync -e {shlex.quote(ssh)} {shlex.quote(str(path))} {DESTINATION}:{target}"
    streamed: list[float] = []
    rsynced: list[float] = []
    for _ in range(ROUNDS):
        for command, times in ((stream, streamed), (rsync, rsynced)):
            (workdir / "one-hop.bin").unlink(missing_ok=True)
            times.append(_timed_shell(command, env))
    (workdir / "one-hop.bin").unlink(missing_ok=True)
    best_stream, best_rsync = min(streamed), min(rsynced)
    print(f"one hop from this machine, best of {ROUNDS} (why copy streams; rsync cannot relay")
    print("between two pools):")
    print(f"  cat FILE | ssh B 'cat > FILE': {best_stream:6.2f} s "
          f"({SIZE / best_stream / 1e6:6.1f} MB/s)  runs {_list(streamed)}")  # fmt: skip
    print(f"  rsync -e ssh FILE B:FILE:      {best_rsync:6.2f} s "
          f"({SIZE / best_rsync / 1e6:6.1f} MB/s)  runs {_list(rsynced)}")  # fmt: skip


def _list(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
