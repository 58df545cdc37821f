"""SHA-256 of model files (`rbee.hashing`): one large file, and several files in parallel.

1. One 1 GiB file: `rbee.hashing.sha256_file` against `openssl dgst -sha256` on the same file,
   alternated in the same run. Target: our throughput >= 0.9x openssl's.
2. Four 256 MiB files: `rbee.hashing.hash_files` (one file per core, in threads) against hashing
   them one after another in one thread, alternated. Target: <= 0.65x the sequential time (on a
   2-core machine; the ideal is 0.5x).

Both read from the page cache (every file is read once before timing), so the figures measure
hashing, not the disk. Each figure is the best of ROUNDS runs: other processes on the machine
only ever make a run slower. The load average is printed with the figures.
Files go to $RBEE_BENCH_DIR, else the system's temporary folder (2 GiB are needed).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GIB = 1 << 30
MIB = 1 << 20
ROUNDS = 5
OPENSSL_TARGET = 0.9
PARALLEL_TARGET = 0.65


def _write_random(path: Path, size: int) -> None:
    chunk = os.urandom(16 * MIB)
    with open(path, "wb") as file:
        written = 0
        while written < size:
            # Vary each chunk a little: identical blocks would not matter to SHA-256, but a
            # file system that deduplicates or compresses should see real data.
            piece = chunk[: min(len(chunk), size - written)]
            file.write(written.to_bytes(8, "little") + piece[8:])
            written += len(piece)


def _warm(paths: list[Path]) -> None:
    buffer = bytearray(8 * MIB)
    for path in paths:
        with open(path, "rb", buffering=0) as file:
            while file.readinto(buffer):
                pass


def _timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _openssl(path: Path) -> str:
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-r", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.split()[0]


def _against_openssl(path: Path) -> bool:
    from rbee.hashing import sha256_file

    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        seconds, their_digest = _timed(lambda: _openssl(path))
        theirs.append(seconds)
        seconds, our_digest = _timed(lambda: sha256_file(path))
        ours.append(seconds)
        assert our_digest == their_digest, (our_digest, their_digest)
    size = path.stat().st_size
    ratio = min(theirs) / min(ours)  # throughput ratio: ours / openssl's
    print(f"one {size // MIB} MiB file, best (median) of {ROUNDS}:")
    print(
        f"  openssl dgst -sha256    {min(theirs):6.3f} s ({statistics.median(theirs):.3f})"
        f"  {size / MIB / min(theirs):7.0f} MiB/s"
    )
    print(
        f"  rbee.hashing.sha256_file {min(ours):5.3f} s ({statistics.median(ours):.3f})"
        f"  {size / MIB / min(ours):7.0f} MiB/s"
    )
    met = ratio >= OPENSSL_TARGET
    print(
        f"  throughput {ratio:.2f}x openssl's (target >= {OPENSSL_TARGET}x) "
        f"{'ok' if met else 'MISSED'}"
    )
    return met


def _parallel(paths: list[Path]) -> bool:
    from rbee.hashing import default_workers, hash_file, hash_files

    sequential: list[float] = []
    parallel: list[float] = []
    busy: list[float] = []  # CPU seconds / wall seconds of each parallel run: cores kept busy
    for _ in range(ROUNDS):
        seconds, one_by_one = _timed(lambda: [hash_file(p) for p in paths])
        sequential.append(seconds)
        before = os.times()
        seconds, together = _timed(lambda: hash_files(paths))
        after = os.times()
        parallel.append(seconds)
        busy.append((after.user - before.user + after.system - before.system) / seconds)
        assert isinstance(together, dict)
        assert isinstance(one_by_one, list)
        assert list(together.values()) == one_by_one
    ratio = min(parallel) / min(sequential)
    size = sum(p.stat().st_size for p in paths)
    print(
        f"{len(paths)} files of {paths[0].stat().st_size // MIB} MiB, "
        f"{default_workers()} worker(s), best (median) of {ROUNDS}:"
    )
    print(
        f"  one after another  {min(sequential):6.3f} s ({statistics.median(sequential):.3f})"
        f"  {size / MIB / min(sequential):7.0f} MiB/s"
    )
    print(
        f"  hash_files         {min(parallel):6.3f} s ({statistics.median(parallel):.3f})"
        f"  {size / MIB / min(parallel):7.0f} MiB/s"
    )
    print(f"  cores kept busy by hash_files: {max(busy):.2f} (best run; 2.0 = both, all along)")
    met = ratio <= PARALLEL_TARGET
    print(
        f"  time {ratio:.2f}x the sequential (target <= {PARALLEL_TARGET}x) "
        f"{'ok' if met else 'MISSED'}"
    )
    return met


def main() -> int:
    if shutil.which("openssl") is None:
        print("openssl is not installed: cannot compare (apt-get install openssl)")
        return 1
    base = os.environ.get("RBEE_BENCH_DIR") or None
    with tempfile.TemporaryDirectory(prefix="rbee-bench-hashing-", dir=base) as temp:
        directory = Path(temp)
        big = directory / "one-gib.bin"
        parts = [directory / f"part-{n}.bin" for n in range(1, 5)]
        _write_random(big, GIB)
        for part in parts:
            _write_random(part, 256 * MIB)
        _warm([big, *parts])
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (1 min)")
        results = [_against_openssl(big), _parallel(parts)]
        print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
