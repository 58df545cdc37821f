"""`rbee-hive models inspect`, `models scan` and register's fill-in, end to end in subprocesses."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.unprivileged import nobody_command

from .conftest import write_config, write_gguf, write_safetensors

PARAMETERS = 64 * 16 + 16 * 16 + 16


def hive(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rbee.hive.cli", "--root", str(root), "models", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "RBEE_POOL_ID": "test-pool"},
    )


def ok(root: Path, *args: str) -> str:
    result = hive(root, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def catalog_document(root: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((root / ".test-models" / "catalog.json").read_text())
    return document


def entry_of(root: Path, model_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in catalog_document(root)["models"] if m["id"] == model_id)
    return found


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    """A pool with qwen registered before its GGUF was downloaded, and tinyllama's safetensors."""
    models = tmp_path / ".test-models"
    (models / "qwen").mkdir(parents=True)
    ok(tmp_path, "register", "qwen", "--name", "Qwen 0.5B", "--architecture", "qwen")
    write_gguf(models / "qwen" / "qwen.gguf", arch="qwen2", name="Qwen 0.5B", vocab_size=151936)
    (models / "tinyllama").mkdir()
    write_safetensors(models / "tinyllama" / "model.safetensors")
    write_config(models / "tinyllama")
    return tmp_path


def test_inspect_json_of_a_gguf(pool: Path) -> None:
    document = json.loads(ok(pool, "inspect", ".test-models/qwen/qwen.gguf", "--json"))
    assert document["format"] == "gguf"
    assert document["architecture"] == "qwen2"
    assert document["context_length"] == 2048
    assert document["vocab_size"] == 151936
    assert document["quantization"] == "Q4_K_M"
    assert document["parameters"] == PARAMETERS
    assert document["files"] == ["qwen.gguf"]
    gguf_size = (pool / ".test-models" / "qwen" / "qwen.gguf").stat().st_size
    assert document["size_bytes"] == gguf_size
    assert document["downloaded"] is True


def test_inspect_text_of_a_directory_touches_no_catalog(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "model.safetensors")
    write_config(tmp_path, model_type="phi3")
    out = ok(tmp_path, "inspect", ".")
    assert "architecture   phi3" in out
    assert "quantization   F32" in out
    assert "config.json" in out
    assert not (tmp_path / ".test-models").exists()


def test_inspect_of_a_broken_file_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "bad.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    result = hive(tmp_path, "inspect", "bad.gguf")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "bad.gguf" in result.stderr
    assert result.stderr.count("\n") == 1
    missing = hive(tmp_path, "inspect", "absent")
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr


def test_scan_updates_facts_and_reports_disagreements(pool: Path) -> None:
    ok(pool, "register", "tinyllama", "--name", "TinyLlama", "--architecture", "llama")
    # Registered after the files arrived: register already filled in what they say.
    tiny = entry_of(pool, "tinyllama")
    assert tiny["downloaded"] is True
    assert tiny["metadata"]["vocab_size"] == 32000
    out = ok(pool, "scan")
    assert "qwen: changed" in out
    assert "downloaded: false -> true" in out
    assert "format: safetensors -> gguf" in out
    assert "metadata.vocab_size: - -> 151936" in out
    assert "architecture: registered 'qwen', the files say 'qwen2'" in out
    assert "tinyllama: unchanged" in out
    qwen = entry_of(pool, "qwen")
    assert qwen["downloaded"] is True
    assert qwen["format"] == "gguf"
    assert qwen["architecture"] == "qwen"
    assert qwen["size_gb"] == round(
        (pool / ".test-models" / "qwen" / "qwen.gguf").stat().st_size / 1e9, 9
    )
    assert qwen["metadata"] == {
        "context_length": 2048,
        "vocab_size": 151936,
        "quantization": "Q4_K_M",
        "parameters": PARAMETERS,
    }
    again = json.loads(ok(pool, "scan", "--json"))
    assert again["changed"] == []
    assert [d["field"] for d in again["models"][0]["disagreements"]] == ["architecture"]


def test_dry_run_writes_nothing(pool: Path) -> None:
    catalog = pool / ".test-models" / "catalog.json"
    before = catalog.read_bytes()
    document = json.loads(ok(pool, "scan", "qwen", "--dry-run", "--json"))
    assert document["dry_run"] is True
    assert document["changed"] == ["qwen"]
    fields = {c["field"]: c["new"] for c in document["models"][0]["changes"]}
    assert fields["downloaded"] is True
    assert catalog.read_bytes() == before
    assert "dry run: nothing was written" in ok(pool, "scan", "--dry-run")
    assert catalog.read_bytes() == before


def test_files_gone_means_not_downloaded_and_entry_stays(pool: Path) -> None:
    ok(pool, "scan")
    (pool / ".test-models" / "qwen" / "qwen.gguf").unlink()
    out = ok(pool, "scan", "qwen")
    assert "downloaded: true -> false" in out
    assert "no model files" in out
    qwen = entry_of(pool, "qwen")
    assert qwen["downloaded"] is False
    assert qwen["metadata"]["vocab_size"] == 151936


def _open_for_writing(fifo: Path, scan: subprocess.Popen[str]) -> int:
    """Open `fifo` once the scan has opened it for reading (it then waits for our bytes)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or scan.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"scan never opened {fifo}: {scan.poll()}") from exc
            time.sleep(0.01)


@pytest.mark.parametrize("meanwhile", ["edit", "remove"])
def test_scan_reads_files_without_holding_the_lock(pool: Path, meanwhile: str) -> None:
    """Another writer gets the lock while scan is still reading a file, and keeps its edits."""
    from rbee.catalog import ModelEntry, edit_catalog

    ok(pool, "register", "slow", "--name", "Slow", "--architecture", "llama", "--downloaded")
    index = pool / ".test-models" / "slow" / "model.safetensors.index.json"
    index.parent.mkdir()
    ok(pool, "update", "slow", "--path", str(index.relative_to(pool)))
    os.mkfifo(index)  # scan blocks reading it until we write
    catalog_path = pool / ".test-models" / "catalog.json"
    scan = subprocess.Popen(
        [sys.executable, "-m", "rbee.hive.cli", "--root", str(pool), "models", "scan", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RBEE_POOL_ID": "test-pool"},
    )
    writer = -1
    try:
        writer = _open_for_writing(index, scan)
        # Scan is inside the file now: a writer must not wait for it.
        with edit_catalog(catalog_path, lock_timeout=5) as catalog:
            if meanwhile == "edit":
                catalog.get_model("slow").name = "Slow, renamed meanwhile"
            else:
                catalog.remove_model("slow")
            catalog.add_model(
                ModelEntry(
                    id="added", name="Added", architecture="llama", path=".test-models/added"
                )
            )
        os.write(writer, json.dumps({"weight_map": {"w": "model.safetensors"}}).encode())
    finally:
        if writer >= 0:
            os.close(writer)
        else:
            scan.kill()
        out, err = scan.communicate(timeout=60)
    assert scan.returncode == 0, err
    report = {model["id"]: model for model in json.loads(out)["models"]}
    assert report["qwen"]["changes"]
    assert report["slow"]["changes"] == []
    assert "meanwhile" in report["slow"]["problem"]
    document = catalog_document(pool)
    ids = [model["id"] for model in document["models"]]
    assert entry_of(pool, "qwen")["downloaded"] is True  # applied to the reloaded catalog
    assert "added" in ids
    if meanwhile == "edit":
        slow = entry_of(pool, "slow")
        assert slow["name"] == "Slow, renamed meanwhile"
        assert slow["downloaded"] is True  # scan would have said false: the shard is missing
        assert slow["format"] == "safetensors"
    else:
        assert "slow" not in ids


def test_unknown_id_changes_nothing(pool: Path) -> None:
    catalog = pool / ".test-models" / "catalog.json"
    before = catalog.read_bytes()
    result = hive(pool, "scan", "qwen", "nosuch")
    assert result.returncode == 1
    assert "nosuch" in result.stderr
    assert catalog.read_bytes() == before


def test_register_fills_in_from_files_and_flags_win(pool: Path) -> None:
    ok(
        pool,
        "register",
        "tinyllama",
        "--name",
        "TinyLlama",
        "--architecture",
        "llama",
        "--context-length",
        "4096",
        "--not-downloaded",
    )
    tiny = entry_of(pool, "tinyllama")
    assert tiny["format"] == "safetensors"
    assert tiny["downloaded"] is False
    assert tiny["metadata"]["context_length"] == 4096
    assert tiny["metadata"]["vocab_size"] == 32000
    assert tiny["metadata"]["quantization"] == "F32"
    assert tiny["metadata"]["parameters"] == PARAMETERS


def test_register_hints_at_disagreements_but_keeps_the_users_values(tmp_path: Path) -> None:
    write_gguf(tmp_path / ".test-models" / "q" / "q.gguf", arch="qwen2", name="Qwen")
    result = hive(tmp_path, "register", "q", "--name", "Qwen", "--architecture", "qwen")
    assert result.returncode == 0, result.stderr
    assert "architecture is 'qwen' but the files say 'qwen2'" in result.stderr
    entry = entry_of(tmp_path, "q")
    assert entry["architecture"] == "qwen"
    assert entry["format"] == "gguf"
    assert entry["downloaded"] is True


def test_register_with_broken_files_still_registers(tmp_path: Path) -> None:
    model = tmp_path / ".test-models" / "b"
    model.mkdir(parents=True)
    (model / "b.gguf").write_bytes(b"junk")
    result = hive(tmp_path, "register", "b", "--name", "B", "--architecture", "llama")
    assert result.returncode == 0, result.stderr
    assert "not a GGUF file" in result.stderr
    assert entry_of(tmp_path, "b")["downloaded"] is False


def test_unreadable_file_is_one_error_line_for_another_user() -> None:
    # Root reads everything, so the command runs as nobody on a file only root may read.
    directory = Path(tempfile.mkdtemp(prefix="rbee-unreadable-"))
    try:
        directory.chmod(0o755)
        model = write_gguf(directory / "model.gguf")
        model.chmod(0o600)
        result = subprocess.run(
            nobody_command("-m", "rbee.hive.cli", "models", "inspect", str(model)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        shutil.rmtree(directory)
    assert result.returncode == 1
    assert result.stderr == f"error: {model}: cannot read: Permission denied\n"


def test_scan_without_a_catalog_creates_none(tmp_path: Path) -> None:
    result = hive(tmp_path, "scan")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no catalog at ")
    assert not (tmp_path / ".test-models").exists()


def test_hostile_strings_in_files_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    # A GGUF whose name and architecture carry escape sequences (retitle, clear, recolour),
    # a config.json with one in its quantization method, and a file name with one.
    write_gguf(
        tmp_path / "evil" / "e.gguf", arch="ll\x1b[31mama", name="\x1b]0;PWNED\x07Evil\x1b[2J"
    )
    (tmp_path / "evil2").mkdir()
    write_safetensors(tmp_path / "evil2" / "model.safetensors")
    write_config(tmp_path / "evil2", quantization_config={"quant_method": "\x9b31mgptq\u202e"})
    (tmp_path / "evil3").mkdir()
    (tmp_path / "evil3" / "x\x1b[2J.gguf").write_bytes(b"GGUF")
    outputs = [hive(tmp_path, "inspect", name) for name in ("evil", "evil2", "evil3")]
    assert [result.returncode for result in outputs] == [0, 0, 1]
    text = "".join(result.stdout + result.stderr for result in outputs)
    for control in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert control not in text
    assert "name           \\x1b]0;PWNED\\x07Evil\\x1b[2J" in outputs[0].stdout
    assert "\\x9b31mgptq\\u202e" in outputs[1].stdout
    assert outputs[2].stderr.startswith("error: ")
    assert "x\\x1b[2J.gguf" in outputs[2].stderr
    # JSON keeps the real value (escaped by JSON itself).
    document = json.loads(ok(tmp_path, "inspect", "evil", "--json"))
    assert document["name"] == "\x1b]0;PWNED\x07Evil\x1b[2J"


def test_a_hostile_name_in_the_files_reaches_neither_register_nor_scan(tmp_path: Path) -> None:
    # The display name is the user's: a file's `general.name` is never reported as a
    # disagreement, so a hostile one is never printed by register or scan at all.
    evil = "Evil\x1b]0;pwned\x07 \u202egnp.exe"
    write_gguf(tmp_path / ".test-models" / "evil" / "e.gguf", name=evil)
    registered = hive(tmp_path, "register", "evil", "--name", "Calm", "--architecture", "llama")
    assert registered.returncode == 0, registered.stderr
    out = ok(tmp_path, "scan")
    assert "name" not in registered.stderr
    assert "name:" not in out
    for control in ("\x1b", "\x07", "\u202e"):
        assert control not in out + registered.stderr
