"""The file-selection rules of `models download` (rbee.hub.select) and the listing's safety
checks, on listings as the Hub returns them (no network)."""

from __future__ import annotations

import pytest

from rbee.hub.errors import AmbiguousQuantError, NoMatchingFilesError
from rbee.hub.listing import RemoteFile, unsafe
from rbee.hub.select import gguf_choices, quant_of, select_files

SHA = "a" * 64
BLOB = "b" * 40


def files(*paths: str, size: int = 1000) -> list[RemoteFile]:
    return [
        RemoteFile(p, size, BLOB, SHA if p.endswith((".gguf", ".safetensors", ".bin")) else None)
        for p in paths
    ]


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("Meta-Llama-3-8B-Instruct.Q8_0.gguf", "Q8_0"),
        ("model-IQ3_XS.gguf", "IQ3_XS"),
        ("sub/llama-f16-00001-of-00003.gguf", "F16"),
        ("phi-3-mini-4k-instruct-bf16.gguf", "BF16"),
        ("model.gguf", None),
    ],
)
def test_quant_of(name: str, quant: str | None) -> None:
    assert quant_of(name) == quant


def test_split_parts_group_and_projectors_are_left_out() -> None:
    listing = files(
        "x-Q4_K_M.gguf",
        "x-Q8_0-00002-of-00002.gguf",
        "x-Q8_0-00001-of-00002.gguf",
        "mmproj-x-f16.gguf",
    )
    choices = gguf_choices(listing)
    assert [(c.label, [f.path for f in c.files]) for c in choices] == [
        ("Q4_K_M", ["x-Q4_K_M.gguf"]),
        ("Q8_0", ["x-Q8_0-00001-of-00002.gguf", "x-Q8_0-00002-of-00002.gguf"]),
    ]
    chosen = select_files(listing, format="gguf", quant="q8_0")
    assert [f.path for f in chosen.files] == [
        "x-Q8_0-00001-of-00002.gguf",
        "x-Q8_0-00002-of-00002.gguf",
    ]
    assert chosen.quant == "Q8_0"
    with pytest.raises(AmbiguousQuantError, match=r"Q4_K_M \(0.0 GB\), Q8_0 \(0.0 GB, 2 parts\)"):
        select_files(listing, format="gguf")


def test_one_quant_in_two_models_is_ambiguous() -> None:
    listing = files("a/llama-Q4_K_M.gguf", "b/mistral-Q4_K_M.gguf")
    with pytest.raises(AmbiguousQuantError, match=r"llama-Q4_K_M\.gguf .*mistral-Q4_K_M\.gguf"):
        select_files(listing, format="gguf", quant="Q4_K_M")


def test_safetensors_rule() -> None:
    listing = files(
        "model.safetensors",
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer.model",
        "qwen.tiktoken",
        "merges.txt",
        "vocab.txt",
        "vocab.bin",
        "pytorch_model.bin",
        "flax_model.msgpack",
        "tf_model.h5",
        "onnx/model.onnx",
        "model.gguf",
        "consolidated.pth",
        "README.md",
        ".gitattributes",
    )
    chosen = select_files(listing, format="safetensors")
    assert sorted(f.path for f in chosen.files) == [
        "config.json",
        "generation_config.json",
        "merges.txt",
        "model.safetensors",
        "qwen.tiktoken",
        "tokenizer.json",
        "tokenizer.model",
        "vocab.txt",
    ]


def test_a_safetensors_entry_on_a_gguf_only_repo_takes_the_gguf_rule() -> None:
    chosen = select_files(files("x-Q4_K_M.gguf", "README.md"), format="safetensors")
    assert chosen.format == "gguf"
    assert [f.path for f in chosen.files] == ["x-Q4_K_M.gguf"]


def test_include_replaces_the_rule() -> None:
    listing = files("a/model.safetensors", "a/config.json", "b/model.safetensors", "README.md")
    chosen = select_files(listing, format="gguf", include=["a/*", "README.md"])
    assert [f.path for f in chosen.files] == ["a/model.safetensors", "a/config.json", "README.md"]
    assert chosen.format == "safetensors"
    by_name = select_files(listing, format="gguf", include=["model.safetensors"])
    assert [f.path for f in by_name.files] == ["a/model.safetensors", "b/model.safetensors"]
    with pytest.raises(NoMatchingFilesError, match=r"no file matches --include '\*.GGUF'"):
        select_files(listing, format="gguf", include=["*.GGUF"])


@pytest.mark.parametrize(
    "path", ["../evil", "/etc/passwd", "a/../../b", "a//b", "a\\b", "./a", "a/\x1b[2J"]
)
def test_unsafe_listed_paths(path: str) -> None:
    assert unsafe(RemoteFile(path, 1, BLOB)) is not None


def test_malformed_digests() -> None:
    assert unsafe(RemoteFile("m.safetensors", 1, BLOB, "../x")) is not None
    assert unsafe(RemoteFile("config.json", 1, "not-a-sha1")) is not None
    assert unsafe(RemoteFile("sub/config.json", 1, BLOB)) is None
