"""A file without tensors holds no weights (not `downloaded`), and `inspect FILE` names that file
(issue 8 §2). Real files from llama.cpp's and Hugging Face's writers, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from rbee.modelfiles import inspect_path

from .conftest import write_config, write_gguf, write_safetensors
from .test_cli import entry_of, hive, ok

TOKENS = [f"tok{i}" for i in range(300)]


def vocab_only(path: Path) -> Path:
    """Like llama.cpp's `ggml-vocab-*.gguf`: a tokenizer and metadata, no tensors."""
    return write_gguf(path, arch="qwen2", name="qwen2 vocab", tokens=TOKENS, tensors={})


def test_a_vocab_only_gguf_holds_no_weights(tmp_path: Path) -> None:
    path = vocab_only(tmp_path / "ggml-vocab-qwen2.gguf")
    info = inspect_path(path)
    assert info.has_weights is False
    assert info.downloaded is False
    assert info.vocab_size == len(TOKENS)
    shown = json.loads(ok(tmp_path, "inspect", str(path), "--json"))
    assert shown["downloaded"] is False
    assert shown["has_weights"] is False
    text = ok(tmp_path, "inspect", str(path))
    assert "downloaded     no" in text
    assert "weights        none (no tensors: a vocabulary-only file)" in text
    # A real model does hold weights.
    model = inspect_path(write_gguf(tmp_path / "model.gguf"))
    assert (model.has_weights, model.downloaded) == (True, True)
    assert json.loads(ok(tmp_path, "inspect", str(tmp_path / "model.gguf"), "--json"))[
        "has_weights"
    ]


def test_scan_does_not_call_a_vocab_only_gguf_downloaded(tmp_path: Path) -> None:
    vocab_only(tmp_path / ".test-models" / "vocab" / "ggml-vocab-qwen2.gguf")
    ok(tmp_path, "register", "vocab", "--name", "Vocab", "--architecture", "qwen2")
    assert entry_of(tmp_path, "vocab")["downloaded"] is False
    report = ok(tmp_path, "scan", "--dry-run")
    assert "downloaded" not in report.split("vocab:", 1)[1].split("\n", 2)[1]
    assert "holds no weights" in report
    ok(tmp_path, "update", "vocab", "--downloaded")
    scanned = json.loads(ok(tmp_path, "scan", "--json"))
    assert scanned["changed"] == ["vocab"]
    assert entry_of(tmp_path, "vocab")["downloaded"] is False
    assert "holds no weights" in scanned["models"][0]["problem"]


def test_safetensors_without_tensors_hold_no_weights(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "model.safetensors", {})
    write_config(tmp_path)
    info = inspect_path(tmp_path)
    assert (info.has_weights, info.downloaded) == (False, False)


def test_inspect_file_reports_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "tinyllama"
    folder.mkdir()
    weights = write_safetensors(folder / "model.safetensors")
    config = write_config(folder)
    gguf = write_gguf(tmp_path / "q" / "model.gguf")
    for path in (weights, config, gguf):
        shown = json.loads(ok(tmp_path, "inspect", str(path), "--json"))
        assert shown["path"] == str(path)
        assert f"  path           {path}\n" in ok(tmp_path, "inspect", str(path))
        assert inspect_path(path).path == str(path)
    # A folder is reported as the folder.
    assert json.loads(ok(tmp_path, "inspect", str(folder), "--json"))["path"] == str(folder)
    # A relative path is taken from the pool's root and reported as that file.
    relative = hive(tmp_path, "inspect", "tinyllama/model.safetensors", "--json")
    assert json.loads(relative.stdout)["path"] == str(weights)
