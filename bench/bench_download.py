"""`rbee-hive models download` against `hf download`, same files, same local Hub server.

A 1 GB repo of two safetensors files (500 MB each, random bytes) is served by the test suite's
fake Hub (`tests.hubserver`, plain HTTP on 127.0.0.1, no Xet). In the same run, alternating,
each tool downloads both files into an empty folder, twice; the faster of each tool's runs is
compared (wall time of the whole command, start-up included):

1. throughput of `rbee-hive models download` (which hashes every byte and checks it against the
   Hub's sha256 before the file takes its name) vs `hf download --local-dir` (which does not).
   Target: >= 0.9x.
2. reported: the hash check alone (sha256 of the 1 GB, 1 MiB reads, as a rerun or `verify`
   would do it) and the start-up cost `download` adds: `rbee-hive models download` of a model
   that is already complete (listing from the Hub, no transfer) against `rbee-hive models
   catalog`, medians of 5.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILE_SIZE = 500_000_000
FILES = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
RATIO_TARGET = 0.9
RUNS = 2
BIN = Path(sys.executable).parent


def _write_safetensors(path: Path, size: int) -> None:
    """A valid safetensors file of `size` bytes: one U8 tensor of random bytes."""
    header_body = {"weight": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}
    # Size the header first (its length field counts itself out), then the tensor.
    for _ in range(3):
        header = json.dumps(header_body).encode()
        header += b" " * (-len(header) % 8)
        data_size = size - 8 - len(header)
        header_body["weight"] = {
            "dtype": "U8",
            "shape": [data_size],
            "data_offsets": [0, data_size],
        }
    header = json.dumps(header_body).encode()
    header += b" " * (-len(header) % 8)
    data_size = size - 8 - len(header)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(header)))
        file.write(header)
        remaining = data_size
        while remaining:
            block = os.urandom(min(1 << 24, remaining))
            file.write(block)
            remaining -= len(block)


def _environment(endpoint: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "RBEE_"))}
    env.update(
        {
            "HF_ENDPOINT": endpoint,
            "HF_HOME": str(home / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        }
    )
    return env


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.decode()[-500:]}")
    return seconds


def _sha256_seconds(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb", buffering=0) as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return time.perf_counter() - started


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.hubserver import FakeHub

    with tempfile.TemporaryDirectory(prefix="rbee-bench-download-") as tmp:
        base = Path(tmp)
        source = base / "repo"
        source.mkdir()
        for name in FILES:
            _write_safetensors(source / name, FILE_SIZE)
        (source / "config.json").write_text('{"model_type": "llama"}')
        total = sum((source / name).stat().st_size for name in FILES)
        with FakeHub() as hub:
            hub.repo("bench/two-files").add_folder(source)
            for name in FILES:
                hub.repos["bench/two-files"].files[name].content_sha256()  # not timed
            env = _environment(hub.url, base)
            pool = base / "pool"
            pool.mkdir()
            subprocess.run(
                [
                    str(BIN / "rbee-hive"),
                    "models",
                    "register",
                    "bench",
                    "--name",
                    "Bench",
                    "--repo",
                    "bench/two-files",
                    "--architecture",
                    "llama",
                ],
                cwd=pool,
                env=env,
                check=True,
                capture_output=True,
            )
            ours_dir = pool / ".test-models" / "bench"
            theirs_dir = base / "hf-local"
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(RUNS):
                shutil.rmtree(theirs_dir, ignore_errors=True)
                theirs.append(
                    _timed(
                        [
                            str(BIN / "hf"),
                            "download",
                            "bench/two-files",
                            *FILES,
                            "--local-dir",
                            str(theirs_dir),
                        ],
                        base,
                        env,
                    )
                )
                shutil.rmtree(ours_dir, ignore_errors=True)
                ours.append(
                    _timed(
                        [
                            str(BIN / "rbee-hive"),
                            "models",
                            "download",
                            "bench",
                            "--include",
                            "*.safetensors",
                            "-q",
                        ],
                        pool,
                        env,
                    )
                )
            for name in FILES:
                assert (ours_dir / name).stat().st_size == (source / name).stat().st_size
            hash_seconds = _sha256_seconds([ours_dir / name for name in FILES])
            complete = [
                _timed(
                    [
                        str(BIN / "rbee-hive"),
                        "models",
                        "download",
                        "bench",
                        "--include",
                        "*.safetensors",
                        "-q",
                    ],
                    pool,
                    env,
                )
                for _ in range(5)
            ]
            catalog = [
                _timed([str(BIN / "rbee-hive"), "models", "catalog"], pool, env) for _ in range(5)
            ]
    our_rate = total / min(ours) / 1e6
    their_rate = total / min(theirs) / 1e6
    ratio = our_rate / their_rate
    met = ratio >= RATIO_TARGET
    added = statistics.median(complete) - statistics.median(catalog)
    print(
        f"1 GB, 2 files, local Hub server: rbee-hive models download {our_rate:.0f} MB/s "
        f"({min(ours):.2f} s, runs {', '.join(f'{s:.2f}' for s in ours)}) vs hf download "
        f"{their_rate:.0f} MB/s ({min(theirs):.2f} s, runs {', '.join(f'{s:.2f}' for s in theirs)})"
    )
    print(
        f"throughput ratio ours/hf: {ratio:.2f}x (target >= {RATIO_TARGET}x, hash check "
        f"included): {'met' if met else 'MISSED'}"
    )
    print(f"hash check alone (sha256 of the 1 GB, 1 MiB reads): {hash_seconds:.2f} s")
    print(
        f"start-up download adds: {added * 1000:.0f} ms (download of a complete model "
        f"{statistics.median(complete) * 1000:.0f} ms vs models catalog "
        f"{statistics.median(catalog) * 1000:.0f} ms, medians of 5)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
