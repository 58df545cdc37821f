"""`rbee-hive models verify` and `models record` on real model files, through the CLI and the
library (`rbee.workflows.verify`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import ModelEntry, edit_catalog, load_catalog
from rbee.catalog.record import FileDigest, make_record
from rbee.workflows.errors import WorkflowError
from rbee.workflows.progress import Progress
from rbee.workflows.verify import (
    NothingToRecordError,
    RecordExistsError,
    record_models,
    verify_models,
)
from tests.verify.conftest import Pool, write_gguf, write_safetensors_model

Capsys = pytest.CaptureFixture[str]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _catalog_state(pool: Pool) -> tuple[bytes, int, bool]:
    info = pool.catalog.stat()
    backup = pool.catalog.with_name("catalog.json.bak")
    return pool.catalog.read_bytes(), info.st_mtime_ns, backup.exists()


def _files(document: dict[str, Any], model_id: str) -> dict[str, dict[str, Any]]:
    model = next(m for m in document["models"] if m["id"] == model_id)
    return {f["path"]: f for f in model["files"]}


# -- record ---------------------------------------------------------------------------------------


def test_record_stores_every_file_of_a_folder_and_one_file_of_a_gguf_entry(models: Pool) -> None:
    catalog = load_catalog(models.catalog)
    st = catalog.get_model("st").record
    assert st is not None
    assert st["source"] == {"type": "local"}
    folder = models.pool / ".test-models" / "st"
    assert st["files"] == [
        {"path": name, "size": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
        for name in ("config.json", "model.safetensors", "tokenizer.json")
    ]
    gg = catalog.get_model("gg").record
    assert gg is not None
    gguf = models.pool / ".test-models" / "ggufs" / "gg-q4.gguf"
    # Relative to the folder holding the file: its base name; the other GGUF there is not it.
    assert gg["files"] == [
        {"path": "gg-q4.gguf", "size": gguf.stat().st_size, "sha256": _sha256(gguf)}
    ]
    assert catalog.get_model("bare").record is None


def test_record_output_and_json(models: Pool, capsys: Capsys) -> None:
    result = models.call("models", "record", "bare", capsys=capsys)
    assert result.code == 0
    assert result.out.startswith("bare: recorded 1 file(s), ")
    code, document = models.json("models", "record", "st", "--force", capsys=capsys)
    assert code == 0
    assert document["recorded"] == ["st"]
    assert set(document) == {"ok", "recorded", "not_recorded", "models"}
    assert set(document["models"][0]) == {
        "id", "status", "directory", "replaced", "source", "source_kept", "files", "total_bytes",
    }  # fmt: skip
    assert document["not_recorded"] == []
    (model,) = document["models"]
    assert model["replaced"] is True
    assert model["directory"] == str(models.pool / ".test-models" / "st")
    assert [f["path"] for f in model["files"]] == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]


def test_record_refuses_an_existing_record_without_force(models: Pool, capsys: Capsys) -> None:
    before = _catalog_state(models)
    result = models.call("models", "record", "bare", "st", capsys=capsys)
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: st has a record already (source local, recorded ")
    assert "--force" in result.err
    assert _catalog_state(models) == before  # bare was not recorded either


def test_record_leaves_hidden_files_and_other_entries_folders_out(
    pool: Pool, capsys: Capsys
) -> None:
    outer = pool.pool / ".test-models" / "family"
    write_safetensors_model(outer)
    write_safetensors_model(outer / "sub" / "deep", seed=2)
    write_gguf(outer / "variant" / "v.gguf")  # another entry's folder, inside this one
    (outer / ".partial.safetensors").write_bytes(b"half")
    (outer / ".cache").mkdir()
    (outer / ".cache" / "x.safetensors").write_bytes(b"cache")
    pool.register("family", ".test-models/family", "safetensors", capsys=capsys)
    pool.register("variant", ".test-models/family/variant", "gguf", capsys=capsys)
    pool.ok("models", "record", "family", "variant", capsys=capsys)
    family = load_catalog(pool.catalog).get_model("family").record
    assert family is not None
    assert [f["path"] for f in family["files"]] == [
        "config.json",
        "model.safetensors",
        "sub/deep/config.json",
        "sub/deep/model.safetensors",
        "sub/deep/tokenizer.json",
        "tokenizer.json",
    ]
    # ...and verify does not call the nested entry's weights (or the hidden ones) extra.
    code, document = pool.json("models", "verify", capsys=capsys)
    assert code == 0, document
    assert all(m["extra"] == [] for m in document["models"])


def test_record_split_gguf_takes_every_part(pool: Pool, capsys: Capsys) -> None:
    first = write_gguf(pool.pool / "split" / "big.gguf", split_max_tensors=1)
    parts = sorted(p.name for p in first.parent.glob("big-*-of-*.gguf"))
    assert len(parts) >= 2
    pool.register("big", f"split/{first.name}", "gguf", capsys=capsys)
    pool.ok("models", "record", "big", capsys=capsys)
    record = load_catalog(pool.catalog).get_model("big").record
    assert record is not None
    assert [f["path"] for f in record["files"]] == parts
    (first.parent / parts[-1]).unlink()
    result = pool.call("models", "verify", "big", capsys=capsys)
    assert result.code == 1
    assert f"big: missing {parts[-1]} (not on disk)" in result.out


def test_record_absolute_path_outside_the_pool(pool: Pool, tmp_path: Path, capsys: Capsys) -> None:
    elsewhere = write_safetensors_model(tmp_path / "elsewhere" / "qwen", seed=3)
    with edit_catalog(pool.catalog, create_pool_id="test.pool") as catalog:
        catalog.add_model(
            ModelEntry(id="qwen", name="Qwen", architecture="qwen2", path=str(elsewhere))
        )
    pool.ok("models", "record", "qwen", capsys=capsys)
    code, document = pool.json("models", "verify", "qwen", capsys=capsys)
    assert code == 0
    assert document["models"][0]["directory"] == str(elsewhere)
    (elsewhere / "tokenizer.json").write_text("{}")
    result = pool.call("models", "verify", "qwen", capsys=capsys)
    assert result.code == 1
    assert "qwen: changed tokenizer.json (size 2 bytes, recorded " in result.out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "does not exist: nothing to record"),
        ("empty", "no model weights (.safetensors, .gguf, ...) in "),
        ("config-only", "no model weights"),
    ],
)
def test_record_refuses_a_folder_without_weights(
    pool: Pool, capsys: Capsys, setup: str, message: str
) -> None:
    folder = pool.pool / ".test-models" / "m"
    if setup != "none":
        folder.mkdir(parents=True)
    if setup == "config-only":
        (folder / "config.json").write_text("{}")
    pool.register("m", ".test-models/m", "safetensors", capsys=capsys)
    before = _catalog_state(pool)
    result = pool.call("models", "record", "m", capsys=capsys)
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert message in result.err
    assert _catalog_state(pool) == before


class EditWhileHashing(Progress):
    """Another writer edits the catalog while the files are hashed (outside the lock)."""

    def __init__(self, catalog: Path, model_id: str, *, remove: bool = False) -> None:
        self.catalog = catalog
        self.model_id = model_id
        self.remove = remove
        self.done = False

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        if self.done or not name.startswith(self.model_id + "/"):
            return
        self.done = True
        with edit_catalog(self.catalog) as catalog:
            if self.remove:
                catalog.remove_model(self.model_id)
            else:
                entry = catalog.find_model_mut(self.model_id)
                assert entry is not None
                entry.name = "Renamed meanwhile"


@pytest.mark.parametrize("remove", [False, True])
def test_record_leaves_an_entry_edited_meanwhile(pool: Pool, capsys: Capsys, remove: bool) -> None:
    write_safetensors_model(pool.pool / "a")
    write_safetensors_model(pool.pool / "b", seed=1)
    pool.register("a", "a", "safetensors", capsys=capsys)
    pool.register("b", "b", "safetensors", capsys=capsys)
    report = record_models(
        pool.catalog,
        str(pool.pool),
        ["a", "b"],
        progress=EditWhileHashing(pool.catalog, "b", remove=remove),
        workers=1,
    )
    assert not report.ok
    assert report.models[0].status == "recorded"
    assert "meanwhile" in report.models[1].status
    catalog = load_catalog(pool.catalog)
    assert catalog.get_model("a").record is not None
    if remove:
        assert catalog.find_model("b") is None
    else:
        assert catalog.get_model("b").name == "Renamed meanwhile"
        assert catalog.get_model("b").record is None


class GrowWhileHashing(Progress):
    def __init__(self, path: Path) -> None:
        self.path = path

    def file_started(self, name: str, size: int, already: int = 0) -> None:
        if name.endswith("model.safetensors"):
            with open(self.path, "ab") as file:
                file.write(b"more")


def test_record_refuses_a_file_that_changes_while_hashed(pool: Pool, capsys: Capsys) -> None:
    folder = write_safetensors_model(pool.pool / "a")
    pool.register("a", "a", "safetensors", capsys=capsys)
    before = _catalog_state(pool)
    with pytest.raises(WorkflowError, match="changed while it was hashed: nothing recorded"):
        record_models(
            pool.catalog,
            str(pool.pool),
            ["a"],
            progress=GrowWhileHashing(folder / "model.safetensors"),
        )
    assert _catalog_state(pool) == before


def test_record_library_errors(models: Pool) -> None:
    with pytest.raises(RecordExistsError):
        record_models(models.catalog, str(models.pool), ["st"])
    with pytest.raises(WorkflowError, match="name the models"):
        record_models(models.catalog, str(models.pool), [])
    shutil.rmtree(models.pool / ".test-models" / "bare")
    with pytest.raises(NothingToRecordError):
        record_models(models.catalog, str(models.pool), ["bare"])


# -- verify ---------------------------------------------------------------------------------------


def test_verify_all_ok_changes_nothing(models: Pool, capsys: Capsys) -> None:
    before = _catalog_state(models)
    result = models.call("models", "verify", capsys=capsys)
    assert result.code == 0, result.out
    assert result.out.splitlines() == [
        "st: ok, 3 file(s), " + result.out.split("st: ok, 3 file(s), ")[1].splitlines()[0],
        "gg: ok, 1 file(s), " + result.out.split("gg: ok, 1 file(s), ")[1].splitlines()[0],
        "bare: no record (make one with 'rbee-hive models record bare')",
        "Verified 2 model(s): 2 ok, 0 failed; 1 without a record",
    ]
    code, document = models.json("models", "verify", capsys=capsys)
    assert code == 0
    assert document["ok"] is True
    assert document["checked"] == 2
    assert document["failed"] == []
    assert document["no_record"] == ["bare"]
    assert document["catalog_changed"] is False
    assert {f["status"] for f in _files(document, "st").values()} == {"ok"}
    # The keys docs/verify.md documents.
    assert set(document) == {
        "ok", "strict", "checked", "failed", "no_record", "not_downloaded", "catalog_changed",
        "note", "models",
    }  # fmt: skip
    model = document["models"][0]
    assert set(model) == {
        "id", "status", "directory", "source", "recorded_at", "downloaded", "repo", "files",
        "extra",
    }  # fmt: skip
    assert set(model["files"][0]) == {
        "path", "status", "size", "sha256", "recorded_size", "recorded_sha256", "reason",
    }  # fmt: skip
    quiet = models.call("models", "verify", "-q", capsys=capsys)
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    assert _catalog_state(models) == before


def test_verify_missing_file(models: Pool, capsys: Capsys) -> None:
    (models.pool / ".test-models" / "st" / "tokenizer.json").unlink()
    result = models.call("models", "verify", "st", capsys=capsys)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "st: missing tokenizer.json (not on disk)"
    assert lines[1] == "st: failed: 1 missing of 3 file(s)"
    assert lines[2] == "Verified 1 model(s): 0 ok, 1 failed"
    assert "'rbee-hive models scan' updates downloaded" in lines[3]
    _, document = models.json("models", "verify", "st", capsys=capsys)
    entry = _files(document, "st")["tokenizer.json"]
    assert entry["status"] == "missing"
    assert entry["size"] is None


def test_verify_changed_size(models: Pool, capsys: Capsys) -> None:
    weights = models.pool / ".test-models" / "st" / "model.safetensors"
    recorded = weights.stat().st_size
    with open(weights, "ab") as file:
        file.write(b"\0")
    result = models.call("models", "verify", "st", capsys=capsys)
    assert result.code == 1
    assert (
        f"st: changed model.safetensors (size {recorded + 1} bytes, recorded {recorded})"
        in result.out
    )
    _, document = models.json("models", "verify", "st", capsys=capsys)
    entry = _files(document, "st")["model.safetensors"]
    assert (entry["status"], entry["size"], entry["recorded_size"]) == (
        "changed",
        recorded + 1,
        recorded,
    )


def test_verify_changed_content_same_size(models: Pool, capsys: Capsys) -> None:
    weights = models.pool / ".test-models" / "st" / "model.safetensors"
    recorded = _sha256(weights)
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(weights))
    tensors["model.norm.weight"][3] = 7.0  # one weight: same header, same size
    save_file(tensors, str(weights))
    now = _sha256(weights)
    assert now != recorded
    result = models.call("models", "verify", capsys=capsys)
    assert result.code == 1
    assert "st: changed model.safetensors (same size, other sha256)" in result.out
    assert "gg: ok" in result.out
    _, document = models.json("models", "verify", capsys=capsys)
    entry = _files(document, "st")["model.safetensors"]
    assert (entry["sha256"], entry["recorded_sha256"]) == (now, recorded)
    assert document["failed"] == ["st"]


def test_verify_extra_weight_file(models: Pool, capsys: Capsys) -> None:
    folder = models.pool / ".test-models" / "st"
    shutil.copy(folder / "model.safetensors", folder / "model-copy.safetensors")
    (folder / ".hidden.gguf").write_bytes(b"ignored")
    (folder / "README.md").write_text("not a weight file")
    result = models.call("models", "verify", "st", capsys=capsys)
    assert result.code == 1
    assert result.out.splitlines()[:2] == [
        "st: extra model-copy.safetensors (a weight file the record does not list)",
        "st: failed: 1 weight file(s) not in the record",
    ]
    _, document = models.json("models", "verify", "st", capsys=capsys)
    assert document["models"][0]["extra"] == ["model-copy.safetensors"]


def test_verify_a_gguf_entry_does_not_count_its_neighbours_as_extra(
    models: Pool, capsys: Capsys
) -> None:
    write_gguf(models.pool / ".test-models" / "ggufs" / "third.gguf", name="Third")
    result = models.call("models", "verify", "gg", capsys=capsys)
    assert result.code == 0, result.out


def test_verify_folder_gone(models: Pool, capsys: Capsys) -> None:
    shutil.rmtree(models.pool / ".test-models" / "st")
    result = models.call("models", "verify", "st", capsys=capsys)
    assert result.code == 1
    assert sum(line.startswith("st: missing ") for line in result.out.splitlines()) == 3
    folder = models.pool / ".test-models" / "st"
    assert f"st: failed: 3 missing of 3 file(s) (no folder {folder})" in result.out


def test_verify_strict_fails_without_a_record(models: Pool, capsys: Capsys) -> None:
    result = models.call("models", "verify", "bare", "--strict", capsys=capsys)
    assert result.code == 1
    assert result.out.splitlines() == [
        "bare: no record (make one with 'rbee-hive models record bare')",
        "Verified 0 model(s): 0 ok, 0 failed; 1 without a record (failures with --strict)",
    ]
    assert models.call("models", "verify", "bare", capsys=capsys).code == 0
    quiet = models.call("models", "verify", "-q", "--strict", capsys=capsys)
    assert quiet.code == 1
    assert quiet.err == "verify: not ok: bare (no record)\n"
    assert (
        quiet.out.splitlines()[0]
        == "bare: no record (make one with 'rbee-hive models record bare')"
    )
    code, document = models.json("models", "verify", "--strict", capsys=capsys)
    assert (code, document["ok"], document["strict"]) == (1, False, True)


def test_verify_says_not_downloaded_when_there_is_nothing_to_record(
    pool: Pool, capsys: Capsys
) -> None:
    """An entry without a record and without files gets the download hint, not the record hint
    (following which failed with '... does not exist: nothing to record')."""
    pool.ok(
        "models", "register", "qwen-0.5b", "--name", "Qwen", "--architecture", "qwen2",
        "--format", "safetensors", "--repo", "Qwen/Qwen2.5-0.5B-Instruct", capsys=capsys,
    )  # fmt: skip
    pool.register("plain", ".test-models/plain", "gguf", capsys=capsys)
    write_gguf(pool.pool / ".test-models" / "bare" / "bare.gguf", name="Bare")
    pool.register("bare", ".test-models/bare", "gguf", capsys=capsys)
    result = pool.call("models", "verify", capsys=capsys)
    assert result.code == 0
    folder = pool.pool / ".test-models" / "plain"
    assert result.out.splitlines() == [
        "qwen-0.5b: not downloaded (get it with 'rbee-hive models download qwen-0.5b')",
        f"plain: not downloaded, no model files in {folder}",
        "bare: no record (make one with 'rbee-hive models record bare')",
        "Verified 0 model(s): 0 ok, 0 failed; 1 without a record; 2 not downloaded",
    ]
    strict = pool.call("models", "verify", "--strict", "-q", capsys=capsys)
    assert strict.code == 1
    assert strict.err.splitlines()[-1] == (
        "verify: not ok: qwen-0.5b (not downloaded), plain (not downloaded), bare (no record)"
    )
    code, document = pool.json("models", "verify", capsys=capsys)
    assert code == 0
    assert document["no_record"] == ["qwen-0.5b", "plain", "bare"]
    assert document["not_downloaded"] == ["qwen-0.5b", "plain"]
    by_id = {m["id"]: m for m in document["models"]}
    assert (by_id["qwen-0.5b"]["downloaded"], by_id["qwen-0.5b"]["repo"]) == (
        False,
        "Qwen/Qwen2.5-0.5B-Instruct",
    )
    assert (by_id["bare"]["downloaded"], by_id["bare"]["repo"]) == (True, None)


def test_record_then_verify_then_change_then_record_again(models: Pool, capsys: Capsys) -> None:
    models.ok("models", "record", "bare", capsys=capsys)
    models.ok("models", "verify", "--strict", capsys=capsys)
    gguf = models.pool / ".test-models" / "bare" / "bare.gguf"
    write_gguf(gguf, name="Bare v2")
    assert models.call("models", "verify", "bare", capsys=capsys).code == 1
    models.ok("models", "record", "bare", "--force", capsys=capsys)
    models.ok("models", "verify", "bare", capsys=capsys)


def test_verify_a_downloaded_record_with_subfolders(pool: Pool, capsys: Capsys) -> None:
    """A record as `download` writes it (source huggingface, paths with folders)."""
    folder = pool.pool / ".test-models" / "hub"
    write_safetensors_model(folder / "sub")
    files = [
        FileDigest(
            f"sub/{name}", (folder / "sub" / name).stat().st_size, _sha256(folder / "sub" / name)
        )
        for name in ("config.json", "model.safetensors")
    ]
    source = {"type": "huggingface", "repo": "owner/name", "revision": "main", "commit": "a" * 40}
    with edit_catalog(pool.catalog, create_pool_id="test.pool") as catalog:
        catalog.add_model(
            ModelEntry(
                id="hub",
                name="Hub",
                architecture="llama",
                path=".test-models/hub",
                record=make_record(source, files),
            )
        )
    code, document = pool.json("models", "verify", capsys=capsys)
    assert code == 0, document
    assert document["models"][0]["source"] == source
    # tokenizer.json is not a weight file: not recorded, not extra.
    assert document["models"][0]["extra"] == []


def test_record_force_keeps_the_source_of_unchanged_files(pool: Pool, capsys: Capsys) -> None:
    """Recording a downloaded model again keeps its repo and commit while its files are as
    recorded (only recorded_at moves); once they changed, the source is local and the old one
    is kept under "previous"."""
    folder = pool.pool / ".test-models" / "hub"
    write_safetensors_model(folder)
    files = [
        FileDigest(name, (folder / name).stat().st_size, _sha256(folder / name))
        for name in ("config.json", "model.safetensors", "tokenizer.json")
    ]
    source = {"type": "huggingface", "repo": "owner/name", "revision": "main", "commit": "a" * 40}
    old_time = "2026-01-01T00:00:00.000000Z"
    with edit_catalog(pool.catalog, create_pool_id="test.pool") as catalog:
        catalog.add_model(
            ModelEntry(
                id="hub",
                name="Hub",
                architecture="llama",
                path=".test-models/hub",
                downloaded=True,
                record=make_record(source, files, recorded_at=old_time),
            )
        )
    result = pool.call("models", "record", "hub", "--force", capsys=capsys)
    assert result.code == 0, result.err
    assert result.out.rstrip().endswith("(files unchanged: source huggingface kept)")
    record = load_catalog(pool.catalog).get_model("hub").record
    assert record is not None
    assert record["source"] == source
    assert record["recorded_at"] != old_time
    assert record["files"] == [f.to_dict() for f in files]

    (folder / "tokenizer.json").write_text('{"version": "2.0"}')
    code, document = pool.json("models", "record", "hub", "--force", capsys=capsys)
    assert code == 0
    assert document["models"][0]["source_kept"] is False
    record = load_catalog(pool.catalog).get_model("hub").record
    assert record is not None
    assert record["source"] == {"type": "local", "previous": source}
    # Unchanged since: that source is kept as it is; a further change keeps the real origin.
    pool.ok("models", "record", "hub", "--force", capsys=capsys)
    assert load_catalog(pool.catalog).get_model("hub").record["source"] == {  # type: ignore[index]
        "type": "local",
        "previous": source,
    }
    (folder / "tokenizer.json").write_text('{"version": "3.0"}')
    result = pool.call("models", "record", "hub", "--force", capsys=capsys)
    assert result.out.rstrip().endswith("(files changed: source now local, was huggingface)")
    assert load_catalog(pool.catalog).get_model("hub").record["source"] == {  # type: ignore[index]
        "type": "local",
        "previous": source,
    }
    pool.ok("models", "verify", "hub", capsys=capsys)


def test_verify_progress_lines_off_a_terminal(models: Pool, capsys: Capsys) -> None:
    (models.pool / ".test-models" / "st" / "config.json").write_text('{"model_type": "qwen2"}')
    result = models.call("models", "verify", "--progress", "lines", capsys=capsys)
    assert result.code == 1
    lines = result.err.splitlines()
    assert len(lines) == 5
    assert lines[-1] == "verify: not ok: st (1 changed)"
    assert any(line.startswith("[") and "changed  st/config.json" in line for line in lines)
    assert any("ok  gg/gg-q4.gguf" in line for line in lines)
    quiet = models.call("models", "verify", "-q", "--progress", "lines", capsys=capsys)
    assert quiet.err == "verify: not ok: st (1 changed)\n"


def test_verify_subprocess_end_to_end(models: Pool) -> None:
    """The installed console script: stdout the report, stderr one progress line per file."""
    result = models.run("models", "verify")
    assert result.code == 0
    assert "Verified 2 model(s): 2 ok, 0 failed; 1 without a record" in result.out
    assert len(result.err.splitlines()) == 4


def test_verify_library_report(models: Pool) -> None:
    report = verify_models(models.catalog, str(models.pool), ["gg", "st"], workers=1)
    assert [m.id for m in report.models] == ["gg", "st"]
    assert report.ok
    json.dumps(report.to_dict())
    strict = verify_models(models.catalog, str(models.pool), strict=True)
    assert not strict.ok
    assert [m.id for m in strict.without_record] == ["bare"]


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["verify", "record"])
def test_unknown_id_is_one_line_and_changes_nothing(
    models: Pool, capsys: Capsys, command: str
) -> None:
    before = _catalog_state(models)
    result = models.call("models", command, "bare", "nope", capsys=capsys)
    assert result.code == 1
    assert result.out == ""
    assert (
        result.err
        == f"error: model 'nope' is not in the catalog {models.catalog.relative_to(models.pool)}\n"
    )
    assert _catalog_state(models) == before


@pytest.mark.parametrize("command", ["verify", "record"])
def test_unreadable_catalog_is_one_line_and_changes_nothing(
    pool: Pool, capsys: Capsys, command: str
) -> None:
    pool.catalog.parent.mkdir(parents=True)
    pool.catalog.write_text('{"version": "1.1", "models": [')
    before = pool.catalog.read_bytes()
    listing = sorted(os.listdir(pool.catalog.parent))
    result = pool.call("models", command, "x", capsys=capsys)
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: ")
    assert "catalog.json" in result.err
    assert pool.catalog.read_bytes() == before
    assert sorted(os.listdir(pool.catalog.parent)) == listing


@pytest.mark.parametrize("command", ["verify", "record"])
def test_no_catalog_is_one_line(pool: Pool, capsys: Capsys, command: str) -> None:
    result = pool.call("models", command, "x", capsys=capsys)
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert not (pool.pool / ".test-models").exists()


def test_record_needs_an_id(pool: Pool, capsys: Capsys) -> None:
    result = pool.call("models", "record", capsys=capsys)
    assert result.code == 2


def test_verify_draws_a_bar_on_a_terminal(models: Pool) -> None:
    """stderr a terminal (stdout a pipe): the bar is redrawn in place, a changed file gets a
    line of its own, the report stays on stdout, and the bar is cleared at the end."""
    from tests.hive.conftest import HIVE
    from tests.terminal import run_with_stderr_on_a_terminal

    (models.pool / ".test-models" / "st" / "tokenizer.json").write_text('{"changed": 1}')
    done, terminal = run_with_stderr_on_a_terminal([str(HIVE), "models", "verify"], cwd=models.pool)
    assert done.returncode == 1
    assert "\r\x1b[K" in terminal
    assert "verify 2 model(s) [" in terminal
    assert "changed  st/tokenizer.json" in terminal
    assert "st: changed tokenizer.json" in done.stdout.decode()
    assert "\x1b" not in done.stdout.decode()


def test_a_file_without_an_extension_is_recorded_by_its_name(pool: Pool, capsys: Capsys) -> None:
    """An adopted Ollama blob: `blobs/sha256-<hex>`, a GGUF without the extension."""
    scratch = write_gguf(pool.pool / "scratch.gguf")
    digest = _sha256(scratch)
    blob = pool.pool / "blobs" / f"sha256-{digest}"
    blob.parent.mkdir()
    scratch.rename(blob)
    pool.register("blob", f"blobs/sha256-{digest}", "gguf", capsys=capsys)
    pool.ok("models", "record", "blob", capsys=capsys)
    record = load_catalog(pool.catalog).get_model("blob").record
    assert record is not None
    assert record["files"] == [
        {"path": f"sha256-{digest}", "size": blob.stat().st_size, "sha256": digest}
    ]
    pool.ok("models", "verify", "blob", capsys=capsys)


def test_ctrl_c_stops_hashing_at_once(pool: Pool) -> None:
    """Two 500 GB sparse files (minutes of hashing each): Ctrl-C ends verify, exit 130, with the
    worker threads stopped rather than left to finish their files."""
    import signal
    import subprocess

    from tests.hive.conftest import HIVE

    folder = pool.pool / "huge"
    folder.mkdir()
    size = 500 * 10**9
    files = []
    for name in ("a.gguf", "b.gguf"):
        with open(folder / name, "wb") as file:
            file.truncate(size)
        files.append(FileDigest(name, size, "0" * 64))
    with edit_catalog(pool.catalog, create_pool_id="test.pool") as catalog:
        catalog.add_model(
            ModelEntry(
                id="huge",
                name="Huge",
                architecture="llama",
                path="huge",
                format="gguf",
                record=make_record({"type": "local"}, files),
            )
        )
    process = subprocess.Popen(
        [str(HIVE), "models", "verify", "--progress", "json"],
        cwd=pool.pool,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stderr is not None
        started = 0
        while started < 2:  # both workers are hashing
            line = process.stderr.readline().decode()
            assert line, "verify ended before hashing started"
            started += '"event":"file_started"' in line
        process.send_signal(signal.SIGINT)
        # Keep reading: progress events still on their way must not fill the pipe and block it.
        process.communicate(timeout=60)
        assert process.returncode == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
