"""The receiving end's rules (`rbee.workflows.copy`) on real files, without ssh."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import ModelEntry, edit_catalog
from rbee.workflows.copy import (
    CopyConflictError,
    TransferIncompleteError,
    finish,
    prepare_receive,
    receive_files,
)


def _manifest(files: dict[str, bytes], model_id: str = "m") -> dict[str, Any]:
    record = {
        "source": {"type": "local"},
        "recorded_at": "2026-12-02T15:00:00.000000Z",
        "files": [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in sorted(files.items())
        ],
    }
    entry = ModelEntry(
        id=model_id, name="M", architecture="llama", downloaded=True, record=record
    ).to_dict()
    return {"entry": entry, "layout": "directory"}


def _receive(root: Path, manifest: dict[str, Any], stream: bytes, **options: Any) -> dict[str, Any]:
    catalog = str(root / ".test-models" / "catalog.json")
    with prepare_receive(
        catalog, str(root), "dst", manifest, source_pool="src", margin=0, **options
    ) as reception:
        plan = reception.plan()
        if not reception.up_to_date:
            receive_files(reception, io.BytesIO(stream))
        finish(reception)
    return plan


def test_a_cut_stream_keeps_what_arrived_and_the_rest_completes_it(tmp_path: Path) -> None:
    files = {"a.safetensors": b"A" * 5000, "b.json": b"{}"}
    manifest = _manifest(files)
    with pytest.raises(TransferIncompleteError, match=r"ended after 3000 of 5000 bytes"):
        _receive(tmp_path, manifest, b"A" * 3000)
    staging = tmp_path / ".test-models" / ".rbee-copy.m"
    assert (staging / "partial" / "a.safetensors").stat().st_size == 3000
    assert not (tmp_path / ".test-models" / "m").exists()
    assert not (tmp_path / ".test-models" / "catalog.json").exists()
    plan = _receive(tmp_path, manifest, b"A" * 2000 + b"{}")
    assert [(f["path"], f["state"], f["offset"]) for f in plan["files"]] == [
        ("a.safetensors", "partial", 3000),
        ("b.json", "new", 0),
    ]
    assert (tmp_path / ".test-models" / "m" / "a.safetensors").read_bytes() == files[
        "a.safetensors"
    ]
    assert not staging.exists()
    document = json.loads((tmp_path / ".test-models" / "catalog.json").read_text())
    (entry,) = document["models"]
    assert entry["record"]["source"] == {"type": "pool", "pool": "src", "from": {"type": "local"}}


def test_staged_files_of_an_older_source_version_are_dropped(tmp_path: Path) -> None:
    old = _manifest({"a.safetensors": b"old!", "b.json": b"{}"})
    with pytest.raises(TransferIncompleteError):
        _receive(tmp_path, old, b"old!")  # a.safetensors verified, b.json never came
    staging = tmp_path / ".test-models" / ".rbee-copy.m"
    assert (staging / "verified" / "a.safetensors").read_bytes() == b"old!"
    new = _manifest({"a.safetensors": b"new!", "b.json": b"{}"})  # same size, other bytes
    plan = _receive(tmp_path, new, b"new!{}")
    assert plan["files"][0]["state"] == "new"  # was verified, for other bytes
    assert [f["offset"] for f in plan["files"]] == [0, 0]
    assert (tmp_path / ".test-models" / "m" / "a.safetensors").read_bytes() == b"new!"


def test_an_entry_of_another_case_or_other_files_in_the_way_are_refused(tmp_path: Path) -> None:
    catalog = tmp_path / ".test-models" / "catalog.json"
    with edit_catalog(catalog, create_pool_id="dst") as editable:
        editable.add_model(ModelEntry(id="M", name="M", architecture="llama"))
    manifest = _manifest({"a.safetensors": b"x"})
    with pytest.raises(CopyConflictError, match="'M' already"):
        _receive(tmp_path, manifest, b"x")
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "a.safetensors").write_bytes(b"someone else's")
    with pytest.raises(CopyConflictError, match="is not a copy of 'n'; choose another --path"):
        _receive(tmp_path, _manifest({"a.safetensors": b"x"}, "n"), b"x", dest_path="elsewhere")
    assert (folder / "a.safetensors").read_bytes() == b"someone else's"
    assert not list(tmp_path.glob(".rbee-copy*"))
