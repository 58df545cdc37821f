"""The seed's WU2.4 through the installed console script, and `make demo`'s idempotence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import EXAMPLES, SEED_REGISTER_COMMANDS, HiveRunner

# The seed's "Expected Output", verbatim except for the documented choices (docs/cli.md): no
# trailing spaces after the header's `Size`, no blank lines around the table.
SEED_EXPECTED = """\
Model Catalog for mac.home.arpa
================================================================================
ID              Name                           Downloaded   Size
--------------------------------------------------------------------------------
tinyllama       TinyLlama 1.1B Chat            ✅           2.2 GB
qwen-0.5b       Qwen2.5 0.5B Instruct          ❌           0.0 GB
phi3            Phi-3 Mini 4K Instruct         ❌           0.0 GB
mistral         Mistral 7B Instruct v0.2       ❌           0.0 GB
================================================================================
Total models: 4
"""


def test_wu2_4_register_four_models_then_catalog(hive: HiveRunner) -> None:
    for command in SEED_REGISTER_COMMANDS:
        result = hive.run("--pool-id", "mac.home.arpa", "models", *command)
        assert result.code == 0, result.err
        assert result.out == f"✅ Model {command[1]} registered\n"
        assert result.err == ""

    fresh = hive.run("models", "catalog")
    assert fresh.code == 0
    lines = fresh.out.splitlines()
    assert lines[0] == "Model Catalog for mac.home.arpa"
    assert [line.split()[0] for line in lines[4:8]] == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]
    assert all("❌           0.0 GB" in line for line in lines[4:8])
    assert lines[-1] == "Total models: 4"

    # TinyLlama was already downloaded on the seed's pool: record that, then the table is the
    # seed's expected output itself.
    update = hive.run("models", "update", "tinyllama", "--downloaded", "--size-gb", "2.2")
    assert update.code == 0, update.err
    result = hive.run("models", "catalog")
    assert result.code == 0
    assert result.out == SEED_EXPECTED
    assert result.err == ""


def test_the_seed_table_columns_line_up_in_terminal_cells(hive: HiveRunner) -> None:
    for command in SEED_REGISTER_COMMANDS:
        assert hive.run("--pool-id", "mac.home.arpa", "models", *command).code == 0
    hive.run("models", "update", "tinyllama", "--downloaded", "--size-gb", "2.2")
    lines = hive.run("models", "catalog").out.splitlines()
    header, rows = lines[2], lines[4:8]
    size_column = header.index("Size")
    for row in rows:
        # Each emoji is one character but two cells wide: the size starts one character early.
        assert row.index(" GB") - 3 == size_column - 1


def _catalog_document(hive: HiveRunner) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(hive.catalog.read_text())
    return document


def test_register_from_the_example_file_twice_changes_nothing(hive: HiveRunner) -> None:
    # What `make demo` runs.
    first = hive.run(
        "--catalog", ".test-models/catalog.json", "models", "register", "--from", str(EXAMPLES)
    )
    assert first.code == 0, first.err
    assert first.out.count("registered\n") == 4
    before = hive.catalog_bytes()

    second = hive.run(
        "--catalog", ".test-models/catalog.json", "models", "register", "--from", str(EXAMPLES)
    )
    assert second.code == 0, second.err
    assert second.out.splitlines() == [
        "= Model tinyllama is already registered; skipped",
        "= Model qwen-0.5b is already registered; skipped",
        "= Model phi3 is already registered; skipped",
        "= Model mistral is already registered; skipped",
        f"Registered 0, skipped 4 (from {EXAMPLES})",
    ]
    assert hive.catalog_bytes() == before


def test_the_example_file_carries_the_models_real_metadata(hive: HiveRunner) -> None:
    assert hive.run("models", "register", "--from", str(EXAMPLES)).code == 0
    models = {m["id"]: m for m in _catalog_document(hive)["models"]}
    expected = {
        "tinyllama": (
            "TinyLlama 1.1B Chat",
            "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            "llama",
            2048,
            32000,
        ),
        "qwen-0.5b": (
            "Qwen2.5 0.5B Instruct",
            "Qwen/Qwen2.5-0.5B-Instruct",
            "qwen2",
            32768,
            151936,
        ),
        "phi3": ("Phi-3 Mini 4K Instruct", "microsoft/Phi-3-mini-4k-instruct", "phi3", 4096, 32064),
        "mistral": (
            "Mistral 7B Instruct v0.2",
            "mistralai/Mistral-7B-Instruct-v0.2",
            "mistral",
            32768,
            32000,
        ),
    }
    assert list(models) == list(expected)
    for model_id, (name, repo, architecture, context, vocab) in expected.items():
        entry = models[model_id]
        assert entry["name"] == name
        assert entry["architecture"] == architecture
        assert entry["metadata"] == {"repo": repo, "context_length": context, "vocab_size": vocab}
        assert entry["path"] == f".test-models/{model_id}"
        assert entry["format"] == "safetensors"
        assert entry["backends"] == ["cpu", "metal", "cuda"]
        assert entry["downloaded"] is False
        assert entry["size_gb"] == 0.0


def test_makefile_demo_runs_exactly_these_commands() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "models register --from examples/test-models.toml" in recipe
    assert "models catalog" in recipe
