"""The catalog library on a 10,000-model catalog, and the cost of importing it.

    .venv/bin/python -m bench catalog

Each operation is timed as the median of several repeats and reported as a ratio to a bare
`json.load` + `json.dump(indent=2, ensure_ascii=False)` of the same file, measured in the same
run (the library writes the same output style, plus validation, fsync, a backup and a lock):

- load: `load_catalog(path)` (parse, migrate, validate every entry, remember the baseline);
- add + save: `catalog.add_model(entry)` then `catalog.save(path)` on a loaded catalog;
- edit transaction: `with edit_catalog(path) as c: c.add_model(entry)`, i.e. lock, load, add,
  validate, save; what `rbee-hive models register` does;
- find by id: `catalog.find_model(id)` for the last entry (a linear scan);
- add_models x 10,000: `ModelCatalog.new(...).add_models(entries)` of 10,000 built entries into
  an empty catalog (validate, check ids, append, stamp once); what `register --from` does. No
  target: reported so that a return to quadratic time shows.

Target: add + save <= 3x the baseline. Then `python -c "import rbee.catalog"` against
`python -c pass` (the venv's interpreter, interleaved, median of 21 runs each), which must leave
room for `rbee-hive models catalog` to answer within 4x a bare interpreter start. The package's
bytecode is compiled first, as `pip install` does.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MODELS = 10_000
REPEATS = 7
IMPORT_ROUNDS = 21
ADD_AND_SAVE_TARGET = 3.0
IMPORT_BUDGET = 4.0  # the whole `rbee-hive models catalog` must fit in this


def build_catalog(path: Path) -> None:
    from rbee.catalog import ModelCatalog, ModelEntry

    catalog = ModelCatalog.new("bench.home.arpa")
    for n in range(MODELS):
        catalog.models.append(
            ModelEntry(
                id=f"model-{n:05d}",
                name=f"Benchmark Model {n} Instruct",
                path=f".test-models/model-{n:05d}",
                format="gguf" if n % 3 else "safetensors",
                size_gb=round(0.5 + n % 70 / 10, 1),
                architecture=("llama", "qwen2", "phi3", "mistral")[n % 4],
                downloaded=n % 2 == 0,
                backends=["cpu", "metal", "cuda"] if n % 5 else ["cpu"],
                metadata={
                    "repo": f"owner{n % 97}/model-{n}",
                    "context_length": 4096,
                    "vocab_size": 32000,
                    "quantization": "Q4_K_M",
                },
            )
        )
    catalog.save(path)


def median_seconds(action: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_operations(directory: Path) -> dict[str, float]:
    """Median seconds of the baseline and of each library operation."""
    from rbee.catalog import ModelCatalog, ModelEntry, edit_catalog, load_catalog

    path = directory / "catalog.json"
    build_catalog(path)
    copy_path = directory / "baseline.json"
    # The transaction edits its own copy: a file changed behind the long-lived catalog's back
    # would make each of its saves re-read the file first (see `_check_replaceable`).
    edit_path = directory / "edited" / "catalog.json"
    edit_path.parent.mkdir()
    edit_path.write_bytes(path.read_bytes())

    def baseline() -> None:
        with open(path, encoding="utf-8") as source:
            document = json.load(source)
        with open(copy_path, "w", encoding="utf-8") as target:
            json.dump(document, target, indent=2, ensure_ascii=False)
            target.write("\n")

    added = iter(range(1_000_000))

    def new_entry() -> ModelEntry:
        n = next(added)
        return ModelEntry(id=f"added-{n}", name=f"Added {n}", architecture="llama")

    catalog = load_catalog(path)

    def add_and_save() -> None:
        catalog.add_model(new_entry())
        catalog.save(path)

    def edit_transaction() -> None:
        with edit_catalog(edit_path) as edited:
            edited.add_model(new_entry())

    last_id = catalog.models[-1].id

    def find_by_id() -> None:
        for _ in range(100):
            catalog.find_model(last_id)

    bulk = [entry.copy() for entry in catalog.models[:MODELS]]

    def add_models() -> None:
        ModelCatalog.new("bench.home.arpa").add_models(bulk)

    # Interleave rounds so that a change in machine load hits every operation alike.
    results: dict[str, list[float]] = {}
    actions = {
        "bare json.load + json.dump": baseline,
        "load": lambda: load_catalog(path),
        "add + save": add_and_save,
        "edit transaction": edit_transaction,
        "find by id": find_by_id,
        f"add_models x {MODELS:,}": add_models,
    }
    baseline()  # warm the page cache
    for _ in range(REPEATS):
        for name, action in actions.items():
            results.setdefault(name, []).append(median_seconds(action, 1))
    medians = {name: statistics.median(times) for name, times in results.items()}
    medians["find by id"] /= 100
    return medians


def measure_import(rounds: int = IMPORT_ROUNDS) -> dict[str, float]:
    import rbee

    compileall.compile_dir(Path(rbee.__file__).parent, quiet=1)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import rbee.catalog": [sys.executable, "-c", "import rbee.catalog"],
    }
    env = dict(os.environ)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(rounds + 2):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True)
            if round_number >= 2:  # two warm-up rounds
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rbee-bench-catalog-") as directory:
        operations = measure_operations(Path(directory))
        size_mb = (Path(directory) / "catalog.json").stat().st_size / 1e6
    baseline = operations["bare json.load + json.dump"]
    print(f"catalog of {MODELS:,} models ({size_mb:.1f} MB), median of {REPEATS} interleaved runs")
    print(f"{'operation':<28} {'time':>10} {'vs baseline':>12} {'target':>8}")
    for name, seconds in operations.items():
        target = f"<= {ADD_AND_SAVE_TARGET:g}x" if name == "add + save" else ""
        print(f"{name:<28} {seconds * 1000:>8.2f}ms {seconds / baseline:>11.2f}x {target:>8}")

    imports = measure_import()
    bare = imports["python -c pass"]
    print(f"\nstart-up, median of {IMPORT_ROUNDS} interleaved runs of {sys.executable}")
    print(f"{'command':<28} {'time':>10} {'vs bare':>12}")
    for name, seconds in imports.items():
        print(f"{name:<28} {seconds * 1000:>8.1f}ms {seconds / bare:>11.2f}x")

    add_ratio = operations["add + save"] / baseline
    import_ratio = imports["import rbee.catalog"] / bare
    failed = False
    if add_ratio > ADD_AND_SAVE_TARGET:
        print(
            f"\nMISSED: add + save is {add_ratio:.2f}x the baseline (target {ADD_AND_SAVE_TARGET}x)"
        )
        failed = True
    if import_ratio >= IMPORT_BUDGET:
        print(f"\nMISSED: import rbee.catalog alone is {import_ratio:.2f}x a bare start")
        failed = True
    if not failed:
        print(
            f"\nadd + save {add_ratio:.2f}x <= {ADD_AND_SAVE_TARGET}x; import {import_ratio:.2f}x"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
