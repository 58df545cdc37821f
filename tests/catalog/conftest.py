"""Fixtures shared by the catalog tests: the seed's example document, entries and catalogs."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import ModelCatalog, ModelEntry
from tests.shared import SEED_EXAMPLE

EntryFactory = Callable[..., ModelEntry]


@pytest.fixture
def seed_text() -> str:
    """The seed's example catalog as its text."""
    return SEED_EXAMPLE


@pytest.fixture
def seed_document() -> dict[str, Any]:
    """The seed's example catalog as a fresh, mutable document."""
    document: dict[str, Any] = json.loads(SEED_EXAMPLE)
    return copy.deepcopy(document)


@pytest.fixture
def make_entry() -> EntryFactory:
    """Build a valid entry; keywords override the seed-like defaults."""

    def build(model_id: str = "tinyllama", **overrides: Any) -> ModelEntry:
        fields: dict[str, Any] = {
            "id": model_id,
            "name": f"Model {model_id}",
            "path": f".test-models/{model_id}",
            "format": "safetensors",
            "size_gb": 2.2,
            "architecture": "llama",
            "downloaded": True,
            "backends": ["cpu", "metal", "cuda"],
            "metadata": {
                "repo": f"owner/{model_id}",
                "context_length": 2048,
                "vocab_size": 32000,
                "quantization": "Q4_K_M",
            },
        }
        fields.update(overrides)
        return ModelEntry(**fields)

    return build


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    """Where a test's catalog lives (the file does not exist yet)."""
    return tmp_path / ".test-models" / "catalog.json"


@pytest.fixture
def saved_catalog(catalog_path: Path, make_entry: EntryFactory) -> Path:
    """A catalog with two models, saved at `catalog_path`."""
    catalog = ModelCatalog.new("pool.test")
    catalog.add_model(make_entry("tinyllama"))
    catalog.add_model(make_entry("qwen-0.5b", architecture="qwen2"))
    catalog.save(catalog_path)
    return catalog_path


@pytest.fixture
def python() -> str:
    """The interpreter for child processes: the venv's, with rbee installed."""
    return sys.executable
