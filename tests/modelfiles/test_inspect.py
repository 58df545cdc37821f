"""inspect_path on model files and directories, and scan_entry against catalog entries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rbee.catalog.model import ModelEntry
from rbee.modelfiles import (
    Change,
    Disagreement,
    ModelFileError,
    NoModelFilesError,
    apply_scan,
    inspect_path,
    scan_entry,
)

from .conftest import GGUFFactory, write_config, write_safetensors


def _total_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def test_gguf_file_and_its_directory(gguf_file: GGUFFactory) -> None:
    path = gguf_file("tiny/tiny.gguf", tokens=["a", "b", "c"])
    (path.parent / "README.md").write_text("notes")
    by_file = inspect_path(path)
    assert by_file.format == "gguf"
    assert by_file.downloaded
    assert by_file.size_bytes == path.stat().st_size
    assert by_file.files == ["tiny.gguf"]
    by_dir = inspect_path(path.parent)
    assert by_dir.size_bytes == _total_size(path.parent)
    assert sorted(by_dir.files) == ["README.md", "tiny.gguf"]
    document = by_dir.to_dict()
    for key in ("format", "architecture", "context_length", "vocab_size", "quantization"):
        assert document[key] == by_file.to_dict()[key]
    assert document["parameters"] == 64 * 16 + 16 * 16 + 16
    assert document["vocab_size"] == 3
    assert document["size_gb"] == by_dir.size_bytes / 1e9


def test_split_gguf_is_one_model(gguf_file: GGUFFactory) -> None:
    first = gguf_file("split/model.gguf", split_max_tensors=1)
    info = inspect_path(first.parent)
    assert info.downloaded
    assert info.parameters == 64 * 16 + 16 * 16 + 16
    assert info.architecture == "llama"
    assert len(info.files) == 3
    assert info.size_bytes == _total_size(first.parent)
    (first.parent / "model-00002-of-00003.gguf").unlink()
    missing = inspect_path(first)
    assert not missing.downloaded
    assert missing.missing == ["model-00002-of-00003.gguf"]
    assert missing.parameters is None
    assert missing.context_length == 2048


def test_partial_download_is_not_downloaded(gguf_file: GGUFFactory) -> None:
    path = gguf_file("dl/model.gguf")
    (path.parent / "model-q8.gguf.incomplete").write_bytes(b"\0" * 1000)
    info = inspect_path(path.parent)
    assert not info.downloaded
    assert info.partial == ["model-q8.gguf.incomplete"]
    path.unlink()
    only_partial = inspect_path(path.parent)
    assert not only_partial.downloaded
    assert only_partial.format == "gguf"
    assert only_partial.size_bytes == 1000


def test_a_partial_safetensors_download_still_shows_its_config(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.incomplete").write_bytes(b"\0" * 500)
    write_config(tmp_path, model_type="qwen2", architectures=["Qwen2ForCausalLM"])
    info = inspect_path(tmp_path)
    assert not info.downloaded
    assert info.partial == ["model.safetensors.incomplete"]
    assert (info.format, info.architecture, info.context_length, info.vocab_size) == (
        "safetensors",
        "qwen2",
        2048,
        32000,
    )
    assert info.parameters is None
    assert info.size_bytes == _total_size(tmp_path)


def test_safetensors_directory_with_config(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "model.safetensors")
    write_config(tmp_path, quantization_config={"quant_method": "gptq", "bits": 4})
    info = inspect_path(tmp_path)
    assert info.format == "safetensors"
    assert info.downloaded
    assert info.architecture == "llama"
    assert info.context_length == 2048
    assert info.vocab_size == 32000
    assert info.quantization == "gptq-4bit"
    assert info.backends == ["cuda"]
    assert info.size_bytes == _total_size(tmp_path)
    assert inspect_path(tmp_path / "model.safetensors").parameters == info.parameters


def test_several_gguf_models_in_one_directory_is_ambiguous(gguf_file: GGUFFactory) -> None:
    gguf_file("two/a-Q4_K_M.gguf")
    path = gguf_file("two/a-Q8_0.gguf", file_type=7)
    with pytest.raises(ModelFileError, match="holds 2 GGUF models"):
        inspect_path(path.parent)
    assert inspect_path(path).quantization == "Q8_0"


def test_a_vision_models_projector_is_part_of_the_model(gguf_file: GGUFFactory) -> None:
    # llama.cpp's vision models: the language model plus an image projector GGUF beside it.
    model = gguf_file("vision/gemma-3-4b-it-Q4_K_M.gguf", arch="gemma3", name="Gemma 3 4B")
    gguf_file(
        "vision/mmproj-gemma-3-4b-it-f16.gguf",
        arch="clip",
        name="Gemma 3 projector",
        context_length=None,
        file_type=1,
        extra=lambda writer: writer.add_string("general.type", "mmproj"),
    )
    info = inspect_path(model.parent)
    assert (info.architecture, info.name, info.quantization) == ("gemma3", "Gemma 3 4B", "Q4_K_M")
    assert info.downloaded
    assert info.files == ["gemma-3-4b-it-Q4_K_M.gguf", "mmproj-gemma-3-4b-it-f16.gguf"]
    assert info.size_bytes == _total_size(model.parent)
    # Two language models (and a projector) are still two models.
    gguf_file("vision/gemma-3-4b-it-Q8_0.gguf", arch="gemma3", file_type=7)
    with pytest.raises(ModelFileError, match="holds 3 GGUF models"):
        inspect_path(model.parent)


def test_nothing_there(tmp_path: Path) -> None:
    with pytest.raises(NoModelFilesError, match="does not exist"):
        inspect_path(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("x")
    with pytest.raises(NoModelFilesError, match=r"no \.gguf or \.safetensors"):
        inspect_path(tmp_path / "empty")
    with pytest.raises(ModelFileError, match="neither"):
        inspect_path(tmp_path / "empty" / "README.md")


def _entry(**fields: object) -> ModelEntry:
    values: dict[str, object] = {
        "id": "qwen",
        "name": "Qwen 0.5B",
        "architecture": "qwen",
        "metadata": {"repo": "Qwen/Qwen2.5-0.5B-Instruct"},
    }
    values.update(fields)
    return ModelEntry(**values)  # type: ignore[arg-type]


def test_scan_updates_facts_and_reports_user_fields(gguf_file: GGUFFactory, tmp_path: Path) -> None:
    path = gguf_file(".test-models/qwen/qwen.gguf", arch="qwen2", name="Qwen2.5 0.5B")
    entry = _entry()
    result = scan_entry(entry, tmp_path)
    assert result.problem is None
    size = round(_total_size(path.parent) / 1e9, 9)
    assert {c.field: (c.old, c.new) for c in result.changes} == {
        "downloaded": (False, True),
        "size_gb": (0.0, size),
        "format": ("safetensors", "gguf"),
        "metadata.context_length": (None, 2048),
        "metadata.quantization": (None, "Q4_K_M"),
        "metadata.parameters": (None, 64 * 16 + 16 * 16 + 16),
    }
    assert result.disagreements == [Disagreement("architecture", "qwen", "qwen2")]
    apply_scan(entry, result)
    entry.validate()
    assert entry.downloaded
    assert entry.architecture == "qwen"
    assert entry.name == "Qwen 0.5B"
    assert entry.metadata["repo"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert scan_entry(entry, tmp_path).changes == []


@pytest.mark.parametrize(
    ("registered", "in_the_file"),
    [
        ("Qwen2.5 0.5B Instruct", "Qwen2.5-0.5B-Instruct"),
        ("Qwen2.5 0.5B Instruct", "Qwen2.5 1.5B Instruct"),
        ("My favourite model", "Qwen2.5"),
    ],
)
def test_the_display_name_is_the_users_and_never_a_disagreement(
    gguf_file: GGUFFactory, tmp_path: Path, registered: str, in_the_file: str
) -> None:
    gguf_file(".test-models/qwen/qwen.gguf", arch="qwen", name=in_the_file)
    entry = _entry(name=registered)
    result = scan_entry(entry, tmp_path)
    assert [d for d in result.disagreements if d.field == "name"] == []
    assert all(change.field != "name" for change in result.changes)


def test_scan_of_vanished_files_only_marks_not_downloaded(tmp_path: Path) -> None:
    entry = _entry(downloaded=True, size_gb=1.5, format="gguf", metadata={"context_length": 4})
    result = scan_entry(entry, tmp_path)
    assert result.changes == [Change("downloaded", True, False)]
    gone = tmp_path / ".test-models" / "qwen"
    assert result.problem == f"no model files: {gone}: does not exist"
    apply_scan(entry, result)
    assert (entry.downloaded, entry.size_gb, entry.metadata) == (False, 1.5, {"context_length": 4})


def test_scan_of_broken_file_reports_it(gguf_file: GGUFFactory, tmp_path: Path) -> None:
    path = gguf_file(".test-models/qwen/qwen.gguf")
    path.write_bytes(path.read_bytes()[:50])
    result = scan_entry(_entry(downloaded=True), tmp_path)
    assert result.changes == [Change("downloaded", True, False)]
    assert result.problem is not None
    assert "qwen.gguf" in result.problem


def test_scan_reports_backends_the_files_cannot_use(tmp_path: Path) -> None:
    model = tmp_path / ".test-models" / "qwen"
    model.mkdir(parents=True)
    write_safetensors(model / "model.safetensors")
    write_config(model, model_type="qwen", quantization_config={"quant_method": "awq", "bits": 4})
    result = scan_entry(_entry(), tmp_path)
    assert result.disagreements == [
        Disagreement("backends", ["cpu", "metal", "cuda"], ["cuda"]),
    ]
    assert Change("metadata.quantization", None, "awq-4bit") in result.changes


def _hf_cache_repo(cache: Path, revisions: list[str]) -> Path:
    """A Hugging Face hub cache repo as `hf download` leaves it: blobs, links, refs/main."""
    import hashlib

    repo = cache / "models--Qwen--Qwen2.5-0.5B-Instruct"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    staging = cache / "staging"
    staging.mkdir()
    write_safetensors(staging / "model.safetensors")
    write_config(staging, model_type="qwen2", architectures=["Qwen2ForCausalLM"])
    for revision in revisions:
        snapshot = repo / "snapshots" / revision
        snapshot.mkdir(parents=True)
        for file in staging.iterdir():
            blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
            blob.write_bytes(file.read_bytes())
            (snapshot / file.name).symlink_to(Path("../../blobs") / blob.name)
    (repo / "refs" / "main").write_text(revisions[0])
    return repo


def test_a_hugging_face_cache_repo_is_its_main_snapshot(tmp_path: Path) -> None:
    repo = _hf_cache_repo(tmp_path, ["a" * 40, "b" * 40])
    snapshot = repo / "snapshots" / ("a" * 40)
    info = inspect_path(repo)
    assert info.path == str(snapshot)
    assert (info.architecture, info.downloaded) == ("qwen2", True)
    assert info.files == ["config.json", "model.safetensors"]
    # Counted once: not blobs plus links, not one snapshot plus another.
    assert info.parameters == inspect_path(snapshot / "model.safetensors").parameters
    assert info.size_bytes == sum(f.stat().st_size for f in snapshot.iterdir())
    # Without refs/main, the snapshot fetched last.
    (repo / "refs" / "main").unlink()
    os.utime(repo / "snapshots" / ("a" * 40), ns=(1_000_000_000, 1_000_000_000))
    assert inspect_path(repo).path == str(repo / "snapshots" / ("b" * 40))
