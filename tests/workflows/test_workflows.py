"""rbee.workflows' register, update, unregister, scan and fill-from-files, called as a library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rbee.catalog import (
    CatalogInvalidError,
    CatalogNotFoundError,
    ModelEntry,
    ModelExistsError,
    ModelNotFoundError,
    load_catalog,
)
from rbee.catalog.entries_file import parse_entries, read_entries_file
from rbee.workflows.errors import WorkflowError
from rbee.workflows.files import fill_from_files
from rbee.workflows.progress import Progress
from rbee.workflows.register import (
    RegisterConflictError,
    bundled_test_models,
    register_models,
)
from rbee.workflows.scan import EDITED_MEANWHILE, apply_scan_results, scan_models
from rbee.workflows.unregister import unregister_models
from rbee.workflows.update import NothingToUpdateError, update_model

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "test-models.toml"
PACKAGED = REPO / "src" / "rbee" / "workflows" / "data" / "test-models.toml"


class Notes(Progress):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return tmp_path / ".test-models" / "catalog.json"


def _ids(path: Path) -> list[str]:
    return [entry.id for entry in load_catalog(path).models]


def write_safetensors(directory: Path, context: int = 2048) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"w": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}).encode()
    (directory / "model.safetensors").write_bytes(
        len(header).to_bytes(8, "little") + header + bytes(8)
    )
    config = {"model_type": "llama", "max_position_embeddings": context, "vocab_size": 32000}
    (directory / "config.json").write_text(json.dumps(config))


def test_the_packaged_test_models_are_the_examples_file() -> None:
    assert PACKAGED.read_bytes() == EXAMPLES.read_bytes()
    assert bundled_test_models() == read_entries_file(EXAMPLES)


def test_register_adds_then_skips_and_creates_the_catalog(catalog: Path) -> None:
    with pytest.raises(CatalogNotFoundError):
        register_models(catalog, bundled_test_models())
    first = register_models(catalog, bundled_test_models(), pool_id="pool")
    assert first.added == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]
    before = catalog.read_bytes()
    again = register_models(catalog, bundled_test_models(), pool_id="pool")
    assert (again.added, again.updated, again.unchanged) == ([], [], first.added)
    assert catalog.read_bytes() == before  # nothing written


def test_the_readme_sequence_fills_in_what_the_first_registration_left_out(catalog: Path) -> None:
    tinyllama = ModelEntry(
        id="tinyllama",
        name="TinyLlama 1.1B Chat",
        architecture="llama",
        metadata={"repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"},
    )
    register_models(catalog, [tinyllama], pool_id="pool")
    result = register_models(catalog, bundled_test_models())
    assert result.added == ["qwen-0.5b", "phi3", "mistral"]
    assert result.changed_fields == {
        "tinyllama": ["metadata.context_length", "metadata.vocab_size"]
    }
    entry = load_catalog(catalog).get_model("tinyllama")
    assert entry.metadata["context_length"] == 2048
    assert register_models(catalog, bundled_test_models()).unchanged == _ids(catalog)


def test_a_conflict_names_the_fields_and_registers_nothing(catalog: Path) -> None:
    register_models(catalog, bundled_test_models()[2:3], pool_id="pool")  # phi3
    before = catalog.read_bytes()
    text = EXAMPLES.read_text().replace('"Phi-3 Mini 4K Instruct"', '"Phi-3"')
    text = text.replace("context_length = 4096", "context_length = 8192")
    with pytest.raises(RegisterConflictError) as caught:
        register_models(catalog, parse_entries(text, "list.toml"), source="list.toml")
    assert caught.value.fields == ["name", "metadata.context_length"]
    assert str(caught.value).startswith(
        "list.toml: model 'phi3' is already registered with different fields "
        "(name, metadata.context_length); nothing from list.toml was registered"
    )
    assert "--update" in str(caught.value)
    assert isinstance(caught.value, WorkflowError)
    assert catalog.read_bytes() == before


def test_update_true_is_an_upsert_of_the_given_fields(catalog: Path) -> None:
    register_models(catalog, bundled_test_models(), pool_id="pool")
    update_model(catalog, "phi3", {"downloaded": True, "size_gb": 7.6}, {"quantization": "BF16"})
    text = EXAMPLES.read_text().replace('"Phi-3 Mini 4K Instruct"', '"Phi-3"')
    text += '\n[[models]]\nid = "gemma"\nname = "Gemma"\narchitecture = "gemma"\n'
    result = register_models(catalog, parse_entries(text, "list.toml"), update=True)
    assert result.outcomes == [
        ("tinyllama", "unchanged"),
        ("qwen-0.5b", "unchanged"),
        ("phi3", "updated"),
        ("mistral", "unchanged"),
        ("gemma", "added"),
    ]
    assert result.changed_fields == {"phi3": ["name"]}
    phi3 = load_catalog(catalog).get_model("phi3")
    # Fields and metadata keys the list leaves out stay as the pool has them.
    assert (phi3.name, phi3.downloaded, phi3.size_gb) == ("Phi-3", True, 7.6)
    assert phi3.metadata["quantization"] == "BF16"


def test_ids_differing_only_in_case_collide(catalog: Path) -> None:
    register_models(catalog, bundled_test_models(), pool_id="pool")
    shouting = ModelEntry(id="TinyLlama", name="T", architecture="llama")
    with pytest.raises(ModelExistsError, match="'tinyllama'"):
        register_models(catalog, [shouting])
    twice = [ModelEntry(id="x", name="X", architecture="llama")] * 2
    with pytest.raises(ModelExistsError):
        register_models(catalog, twice)
    assert "x" not in _ids(catalog)


def test_new_entries_are_filled_in_from_their_files(tmp_path: Path, catalog: Path) -> None:
    write_safetensors(tmp_path / ".test-models" / "tiny")
    tiny = ModelEntry(id="tiny", name="Tiny", architecture="llama")
    register_models(catalog, [tiny], root=tmp_path, pool_id="pool")
    entry = load_catalog(catalog).get_model("tiny")
    assert entry.downloaded
    assert entry.size_gb > 0
    assert entry.metadata == {
        "context_length": 2048,
        "vocab_size": 32000,
        "parameters": 4,
        "quantization": "F16",
    }


def test_fill_from_files_keeps_what_was_given_and_notes_disagreements(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "m")
    entry = ModelEntry(
        id="m", name="M", architecture="qwen2", path="m", metadata={"context_length": 99}
    )
    notes = Notes()
    filled = fill_from_files(entry, tmp_path, {"metadata.context_length"}, notes)
    assert filled is not entry
    assert entry.metadata == {"context_length": 99}
    assert filled.metadata["context_length"] == 99
    assert filled.metadata["vocab_size"] == 32000
    assert filled.architecture == "qwen2"
    assert notes.notes == ["m: architecture is 'qwen2' but the files say 'llama'"]
    nothing = ModelEntry(id="gone", name="Gone", architecture="llama")
    assert fill_from_files(nothing, tmp_path) is nothing


def test_update_merges_metadata_and_validates(catalog: Path) -> None:
    register_models(catalog, bundled_test_models(), pool_id="pool")
    result = update_model(catalog, "phi3", {"name": "Phi"}, {"repo": None, "parameters": 3})
    assert result.changed == ["name", "metadata.repo", "metadata.parameters"]
    assert update_model(catalog, "phi3", {"name": "Phi"}).changed == []
    before = catalog.read_bytes()
    with pytest.raises(CatalogInvalidError):
        update_model(catalog, "phi3", {"architecture": "Not Valid"})
    with pytest.raises(ModelNotFoundError):
        update_model(catalog, "nope", {"name": "x"})
    with pytest.raises(NothingToUpdateError):
        update_model(catalog, "phi3")
    with pytest.raises(WorkflowError, match="'id' is not a field"):
        update_model(catalog, "phi3", {"id": "other"})
    assert catalog.read_bytes() == before


def test_unregister_is_all_or_nothing(catalog: Path) -> None:
    register_models(catalog, bundled_test_models(), pool_id="pool")
    with pytest.raises(ModelNotFoundError):
        unregister_models(catalog, ["phi3", "nope"])
    assert "phi3" in _ids(catalog)
    result = unregister_models(catalog, ["phi3", "phi3", "nope"], missing_ok=True)
    assert (result.removed, result.missing) == (["phi3"], ["nope"])


def test_scan_applies_changes_unless_the_entry_was_edited_meanwhile(
    tmp_path: Path, catalog: Path
) -> None:
    register_models(catalog, bundled_test_models(), root=tmp_path, pool_id="pool")
    write_safetensors(tmp_path / ".test-models" / "tinyllama")
    write_safetensors(tmp_path / ".test-models" / "phi3")
    dry = scan_models(catalog, tmp_path, dry_run=True)
    assert dry.changed == ["tinyllama", "phi3"]
    assert not load_catalog(catalog).get_model("tinyllama").downloaded
    with pytest.raises(ModelNotFoundError):
        scan_models(catalog, tmp_path, ["tinyllama", "nope"])
    # Scanned, then edited by someone else before the changes are applied.
    scanned = [load_catalog(catalog).get_model(i) for i in ("tinyllama", "phi3")]
    results = scan_models(catalog, tmp_path, ["tinyllama", "phi3"], dry_run=True).results
    update_model(catalog, "phi3", {"name": "Edited"})
    apply_scan_results(catalog, scanned, results)
    after = load_catalog(catalog)
    assert after.get_model("tinyllama").downloaded
    assert not after.get_model("phi3").downloaded
    assert results[1].problem == EDITED_MEANWHILE
    report = scan_models(catalog, tmp_path)
    assert report.changed == ["phi3"]
    assert report.to_dict()["changed"] == ["phi3"]
