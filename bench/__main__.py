"""Run every benchmark module (`bench/bench_*.py`, each with a `main() -> int`) in order.

`python -m bench catalog hive` runs only the modules whose names contain those words.
Each module prints its own figures; the exit code is non-zero when any target was missed.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def compile_sources() -> None:
    """Write the byte code of `src/rbee` first, as installing a package does.

    With `PYTHONDONTWRITEBYTECODE` set (it is, on this project's machines) an editable install
    never writes it, and every process would then compile each module it imports again: the
    start-up figures would measure the compiler instead of rbee.
    """
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parents[1] / "src" / "rbee", quiet=1, workers=1)


def main(argv: list[str]) -> int:
    compile_sources()
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(word in n for word in argv)]
    failed: list[str] = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        if module.main() != 0:
            failed.append(name)
    if failed:
        print(f"\ntargets missed in: {', '.join(failed)}")
        return 1
    print("\nall benchmark targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
