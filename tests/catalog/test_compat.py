"""Compatibility with the seed: its example loads, round-trips, and we write its Rust types."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rbee.catalog import ModelCatalog, ModelEntry, edit_catalog, load_catalog

EntryFactory = Callable[..., ModelEntry]

# The seed's `ModelCatalog` and `ModelEntry` (serde, no renames, no defaults): each field as the
# JSON type serde_json reads it as. `PathBuf` is a string; `f64` a number (serde_json also reads
# an integer there); `serde_json::Value` any JSON value.
RUST_CATALOG: dict[str, type | tuple[type, ...]] = {
    "version": str,
    "pool_id": str,
    "updated_at": str,
    "models": list,
}
RUST_ENTRY: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "name": str,
    "path": str,
    "format": str,
    "size_gb": (float, int),
    "architecture": str,
    "downloaded": bool,
    "backends": list,
    "metadata": object,
}


def assert_readable_by_seed_types(document: dict[str, Any]) -> None:
    for key, json_type in RUST_CATALOG.items():
        assert isinstance(document[key], json_type), key
    for entry in document["models"]:
        for key, json_type in RUST_ENTRY.items():
            assert key in entry, key
            assert isinstance(entry[key], json_type), key
            assert not isinstance(entry[key], bool) or json_type is bool, key
        assert all(isinstance(backend, str) for backend in entry["backends"])


def test_seed_example_loads_with_its_values(tmp_path: Path, seed_text: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(seed_text)
    catalog = ModelCatalog.load(path)
    assert catalog.migrated_from == "1.0"  # the seed writes 1.0; it loads as 1.1
    assert (catalog.version, catalog.pool_id, catalog.updated_at) == (
        "1.1",
        "mac.home.arpa",
        "2025-10-09T15:00:00Z",
    )
    entry = catalog.find_model("tinyllama")
    assert entry is not None
    assert entry.name == "TinyLlama 1.1B Chat"
    assert entry.path == ".test-models/tinyllama"
    assert entry.format == "safetensors"
    assert entry.size_gb == 2.2
    assert entry.architecture == "llama"
    assert entry.downloaded is True
    assert entry.backends == ["cpu", "metal", "cuda"]
    assert entry.metadata == {
        "repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "context_length": 2048,
        "vocab_size": 32000,
        "quantization": "Q4_K_M",
    }


def test_seed_example_round_trips_unchanged(tmp_path: Path, seed_text: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(seed_text)
    ModelCatalog.load(path).save(path)
    saved = json.loads(path.read_text())
    seed = json.loads(seed_text)
    # Written in the current format (and so stamped); every entry exactly as it was.
    assert (saved.pop("version"), seed.pop("version")) == ("1.1", "1.0")
    assert saved.pop("updated_at") > seed.pop("updated_at")
    assert saved == seed
    after_first_save = path.read_bytes()
    with edit_catalog(path) as catalog:
        assert catalog.models[0].id == "tinyllama"
    assert path.read_bytes() == after_first_save


def test_what_we_save_has_every_seed_field_with_its_type(
    tmp_path: Path, make_entry: EntryFactory
) -> None:
    path = tmp_path / "catalog.json"
    catalog = ModelCatalog.new("mac.home.arpa")
    catalog.add_model(ModelEntry(id="bare", name="Only required fields", architecture="llama"))
    catalog.add_model(make_entry("full", size_gb=3))
    catalog.save(path)
    document = json.loads(path.read_text())
    assert_readable_by_seed_types(document)
    assert set(document) == set(RUST_CATALOG)
    for entry in document["models"]:
        assert set(entry) == set(RUST_ENTRY)
    assert document["models"][0]["metadata"] == {}
    assert document["models"][1]["size_gb"] == 3.0
    assert ".0" in path.read_text().split('"size_gb": ')[2][:5]  # written as f64, not as an int


def test_seed_rfc3339_timestamps_load(tmp_path: Path, seed_document: dict[str, Any]) -> None:
    # chrono's `Utc::now().to_rfc3339()`, as the seed's `ModelCatalog::new` writes it.
    seed_document["updated_at"] = "2025-10-09T15:00:00.123456789+00:00"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(seed_document))
    assert load_catalog(path).updated_at == "2025-10-09T15:00:00.123456789+00:00"


def test_our_timestamps_are_rfc3339_utc(tmp_path: Path) -> None:
    from datetime import datetime

    catalog = ModelCatalog.new("pool")
    catalog.save(tmp_path / "catalog.json")
    stamp = json.loads((tmp_path / "catalog.json").read_text())["updated_at"]
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset() is not None
