"""Real model files for the modelfiles tests, written by the formats' own libraries.

GGUF files come from llama.cpp's `gguf.GGUFWriter`, safetensors files from Hugging Face's
`safetensors.numpy.save_file`; `cross_check` compares our reader with `gguf.GGUFReader`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from safetensors.numpy import save_file

from rbee.modelfiles import gguf as our_gguf

BIG_VOCAB = 150_000

GGUFFactory = Callable[..., Path]
SafetensorsFactory = Callable[..., Path]


def default_tensors() -> dict[str, np.ndarray[Any, Any]]:
    return {
        "token_embd.weight": np.zeros((64, 16), dtype=np.float32),
        "blk.0.attn_q.weight": np.ones((16, 16), dtype=np.float16),
        "output_norm.weight": np.zeros((16,), dtype=np.float32),
    }


def write_gguf(
    path: Path,
    *,
    arch: str = "llama",
    name: str | None = "Tiny Test Llama",
    context_length: int | None = 2048,
    vocab_size: int | None = None,
    tokens: Sequence[str] | None = None,
    file_type: int | None = 15,
    tensors: dict[str, np.ndarray[Any, Any]] | None = None,
    extra: Callable[[gguf.GGUFWriter], None] | None = None,
    endianess: gguf.GGUFEndian = gguf.GGUFEndian.LITTLE,
    split_max_tensors: int = 0,
) -> Path:
    """Write a GGUF with llama.cpp's writer; returns the (first) file's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, arch, endianess=endianess, split_max_tensors=split_max_tensors)
    if name is not None:
        writer.add_name(name)
    if context_length is not None:
        writer.add_context_length(context_length)
    if vocab_size is not None:
        writer.add_vocab_size(vocab_size)
    if file_type is not None:
        writer.add_file_type(file_type)
    if tokens is not None:
        writer.add_tokenizer_model("llama")
        writer.add_token_list(list(tokens))
        writer.add_token_scores([0.0] * len(tokens))
        writer.add_token_types([1] * len(tokens))
    if extra is not None:
        extra(writer)
    for tensor_name, array in (default_tensors() if tensors is None else tensors).items():
        writer.add_tensor(tensor_name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if split_max_tensors:
        first = sorted(path.parent.glob(f"{path.stem}-00001-of-*.gguf"))
        return first[0] if first else path
    return path


def write_safetensors(
    path: Path,
    tensors: dict[str, np.ndarray[Any, Any]] | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    save_file(default_tensors() if tensors is None else tensors, str(path), metadata=metadata)
    return path


def write_config(directory: Path, **fields: Any) -> Path:
    document: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "max_position_embeddings": 2048,
        "vocab_size": 32000,
        "torch_dtype": "bfloat16",
    }
    document.update(fields)
    for key in [k for k, v in document.items() if v is None]:
        del document[key]
    path = directory / "config.json"
    path.write_text(json.dumps(document))
    return path


def cross_check(path: Path) -> our_gguf.GGUFHeader:
    """Read `path` with our reader and with gguf.GGUFReader; assert they agree on everything."""
    ours = our_gguf.read_header(path)
    theirs = gguf.GGUFReader(path)
    their_fields = {name: f for name, f in theirs.fields.items() if not name.startswith("GGUF.")}
    assert set(ours.metadata) == set(their_fields)
    for key, value in ours.metadata.items():
        field = their_fields[key]
        if isinstance(value, our_gguf.GGUFArray):
            assert field.types[0] == gguf.GGUFValueType.ARRAY
            assert value.element_type == field.types[1]
            # parts: key length, key, value type, element type, element count, elements...
            assert value.length == int(field.parts[4][0])
            if value.element_type != gguf.GGUFValueType.ARRAY:
                assert value.length == len(field.data)
        elif isinstance(value, float):
            assert value == pytest.approx(field.contents())
        else:
            assert value == field.contents(), key
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for mine, reference in zip(ours.tensors, theirs.tensors, strict=True):
        assert list(mine.shape) == [int(d) for d in reference.shape]
        assert mine.elements == reference.n_elements
        assert mine.tensor_type == int(reference.tensor_type)
        assert ours.data_offset + mine.offset == reference.data_offset
    return ours


@pytest.fixture
def gguf_file(tmp_path: Path) -> GGUFFactory:
    """Write a GGUF into the test's temp dir: `gguf_file("x.gguf", **write_gguf options)`."""

    def make(filename: str = "model.gguf", **options: Any) -> Path:
        target = tmp_path / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_gguf(target, **options)

    return make


@pytest.fixture(scope="session")
def big_vocab_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GGUF with a 150,000-entry token list (slow to write: once per session)."""
    directory = tmp_path_factory.mktemp("bigvocab")
    tokens = [f"tok{i}" for i in range(BIG_VOCAB)]
    return write_gguf(directory / "big-vocab.gguf", arch="qwen2", tokens=tokens)
