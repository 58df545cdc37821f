"""The committed JSON Schema: generated from the code, and in agreement with the loader."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from rbee.catalog import CatalogError, ModelCatalog, ModelEntry, parse_catalog

EntryFactory = Callable[..., ModelEntry]
SCHEMA_PATH = Path(__file__).resolve().parents[2] / ".specs" / "catalog.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def test_committed_schema_matches_the_code(python: str) -> None:
    generated = subprocess.run(
        [python, "-m", "rbee.catalog.schema"], capture_output=True, text=True, check=True
    ).stdout
    assert SCHEMA_PATH.read_text(encoding="utf-8") == generated, (
        "the committed schema is stale: run `make schema`"
    )


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["version", "pool_id", "updated_at", "models"]
    entry = schema["$defs"]["ModelEntry"]
    assert entry["required"] == [
        "id",
        "name",
        "path",
        "format",
        "size_gb",
        "architecture",
        "downloaded",
        "backends",
        "metadata",
    ]


def schema_accepts(schema: dict[str, Any], document: Any) -> bool:
    return bool(jsonschema.Draft202012Validator(schema).is_valid(document))


def loader_accepts(document: Any) -> bool:
    try:
        parse_catalog(json.dumps(document).encode())
    except CatalogError:
        return False
    return True


def test_seed_example_and_saved_catalogs_are_schema_valid(
    schema: dict[str, Any], seed_document: dict[str, Any], tmp_path: Path, make_entry: EntryFactory
) -> None:
    assert schema_accepts(schema, seed_document)
    catalog = ModelCatalog.new("mac.home.arpa")
    catalog.add_model(ModelEntry(id="bare", name="Bare", architecture="llama"))
    catalog.add_model(make_entry("full", format="gguf", backends=["metal"]))
    catalog.save(tmp_path / "catalog.json")
    jsonschema.validate(json.loads((tmp_path / "catalog.json").read_text()), schema)


Edit = Callable[[dict[str, Any]], object]


def entry_edit(**changes: Any) -> Edit:
    return lambda d: d["models"][0].update(changes)


def metadata_edit(**changes: Any) -> Edit:
    return lambda d: d["models"][0]["metadata"].update(changes)


# Each edit of the seed's example, and whether the result is a valid catalog.
EXAMPLES: list[tuple[str, Edit, bool]] = [
    ("unchanged", lambda d: None, True),
    ("no models", lambda d: d.update(models=[]), True),
    ("minor version", lambda d: d.update(version="1.7"), True),
    ("unknown top-level key", lambda d: d.update(owner="me"), True),
    ("unknown entry key", entry_edit(sha256="00"), True),
    ("unknown metadata key", metadata_edit(license={"id": "mit"}), True),
    ("fractional seconds", lambda d: d.update(updated_at="2025-10-09T15:00:00.5+00:00"), True),
    ("integer size", entry_edit(size_gb=2), True),
    ("zero size", entry_edit(size_gb=0), True),
    ("gguf", entry_edit(format="gguf"), True),
    ("one backend", entry_edit(backends=["metal"]), True),
    ("id with dots", entry_edit(id="qwen2.5-0.5b_q4"), True),
    ("newer major", lambda d: d.update(version="2.0"), False),
    ("older major", lambda d: d.update(version="0.9"), False),
    ("version number", lambda d: d.update(version=1.0), False),
    ("missing pool_id", lambda d: d.pop("pool_id"), False),
    ("empty pool_id", lambda d: d.update(pool_id=""), False),
    ("pool_id newline", lambda d: d.update(pool_id="a\nb"), False),
    ("local time", lambda d: d.update(updated_at="2025-10-09T17:00:00+02:00"), False),
    ("date only", lambda d: d.update(updated_at="2025-10-09"), False),
    ("models object", lambda d: d.update(models={}), False),
    ("entry not object", lambda d: d["models"].append("x"), False),
    ("missing name", lambda d: d["models"][0].pop("name"), False),
    ("missing metadata", lambda d: d["models"][0].pop("metadata"), False),
    ("empty id", entry_edit(id=""), False),
    ("dot id", entry_edit(id="."), False),
    ("dotdot id", entry_edit(id=".."), False),
    ("slash id", entry_edit(id="a/b"), False),
    ("quote id", entry_edit(id="it's"), False),
    ("long id", entry_edit(id="a" * 65), False),
    ("empty name", entry_edit(name=""), False),
    ("name tab", entry_edit(name="a\tb"), False),
    ("name DEL", entry_edit(name="a\x7f"), False),
    ("path number", entry_edit(path=5), False),
    ("format onnx", entry_edit(format="onnx"), False),
    ("negative size", entry_edit(size_gb=-1), False),
    ("size string", entry_edit(size_gb="1"), False),
    ("architecture upper", entry_edit(architecture="Llama"), False),
    ("downloaded string", entry_edit(downloaded="true"), False),
    ("no backends", entry_edit(backends=[]), False),
    ("backend rocm", entry_edit(backends=["rocm"]), True),
    ("backend vulkan", entry_edit(backends=["cpu", "vulkan"]), True),
    ("backend opencl", entry_edit(backends=["opencl"]), False),
    ("backend twice", entry_edit(backends=["cpu", "cpu"]), False),
    ("metadata list", entry_edit(metadata=[]), False),
    ("repo without owner", metadata_edit(repo="TinyLlama"), False),
    ("repo traversal", metadata_edit(repo="owner/.."), False),
    ("context zero", metadata_edit(context_length=0), False),
    ("context string", metadata_edit(context_length="2048"), False),
    ("vocab negative", metadata_edit(vocab_size=-1), False),
    ("quantization empty", metadata_edit(quantization=""), False),
]
# What JSON Schema cannot say, and the loader checks besides: unique ids, real calendar dates,
# no lone surrogates, integers written as integers (2048.0 is an "integer" to JSON Schema), and
# at most 64 levels of nesting. None of those cases is in EXAMPLES.


@pytest.mark.parametrize(("name", "edit", "valid"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_schema_and_loader_agree(
    schema: dict[str, Any], seed_document: dict[str, Any], name: str, edit: Edit, valid: bool
) -> None:
    document = copy.deepcopy(seed_document)
    edit(document)
    assert schema_accepts(schema, document) is valid, f"schema on {name}"
    assert loader_accepts(document) is valid, f"loader on {name}"
