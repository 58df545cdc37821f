"""Our safetensors header reader on files written by Hugging Face's own library."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors import safe_open

from rbee.modelfiles import ModelFileError, inspect_path
from rbee.modelfiles import safetensors as our_safetensors

from .conftest import write_config, write_safetensors


def test_parameters_and_dtype_match_the_library(tmp_path: Path) -> None:
    tensors: dict[str, np.ndarray[Any, Any]] = {
        "embed": np.zeros((1000, 64), dtype=np.float16),
        "norm": np.ones((64,), dtype=np.float32),
        "counts": np.zeros((3, 3), dtype=np.int64),
    }
    path = write_safetensors(tmp_path / "model.safetensors", tensors, metadata={"format": "pt"})
    header = our_safetensors.read_header(path)
    with safe_open(str(path), framework="numpy") as reference:
        expected = sum(int(np.prod(reference.get_slice(k).get_shape())) for k in reference.keys())  # noqa: SIM118
        assert reference.metadata() == header.metadata
    assert header.parameters == expected == 1000 * 64 + 64 + 9
    assert header.tensor_count == 3
    assert header.parameters_by_dtype == {"F16": 64_000, "F32": 64, "I64": 9}
    assert header.dtype == "F16"


def test_scalar_and_empty_tensors(tmp_path: Path) -> None:
    tensors = {"scalar": np.array(3.0, dtype=np.float32), "empty": np.zeros((0, 4), np.float32)}
    header = our_safetensors.read_header(write_safetensors(tmp_path / "m.safetensors", tensors))
    assert header.parameters == 1
    assert header.tensor_count == 2


def _raw(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    encoded = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(encoded) if length is None else length) + encoded + data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short"),
        (b"\x01\x02", "too short"),
        (struct.pack("<Q", 2**40) + b"{}", "absurd"),
        (struct.pack("<Q", our_safetensors.MAX_HEADER_BYTES + 1) + b"{}", "absurd"),
        (struct.pack("<Q", 5000) + b"{}", "past the end of the file"),
        (_raw(b"GGUF....junk"), "not a JSON object"),
        (_raw(b"{not json"), "not valid JSON"),
        (_raw(b'{"a": "\xff\xfe"}'), "not UTF-8"),
        (_raw(b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"), "nested too deeply"),
        (_raw([1, 2]), "not a JSON object"),
        (_raw({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}), "truncated"),
        (_raw({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8), "needs"),
        (_raw({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), "invalid shape"),
        (_raw({"t": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}), "data_offsets"),
        (_raw({"t": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "no dtype"),
        (_raw({"t": [1, 2, 3]}), "not described by an object"),
    ],
)
def test_broken_files_give_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as caught:
        our_safetensors.read_header(path)
    assert caught.value.path == str(path)


def _sharded(directory: Path, shards: int = 3) -> list[Path]:
    weight_map: dict[str, str] = {}
    paths = []
    for number in range(1, shards + 1):
        name = f"model-{number:05d}-of-{shards:05d}.safetensors"
        tensors = {f"layer{number}.weight": np.zeros((10, number), dtype=np.float32)}
        paths.append(write_safetensors(directory / name, tensors))
        weight_map[f"layer{number}.weight"] = name
    (directory / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 240}, "weight_map": weight_map})
    )
    return paths


def test_sharded_model_counts_every_shard(tmp_path: Path) -> None:
    _sharded(tmp_path)
    write_config(tmp_path, model_type="qwen2", architectures=["Qwen2ForCausalLM"])
    info = inspect_path(tmp_path)
    assert info.format == "safetensors"
    assert info.downloaded
    assert info.parameters == 10 * (1 + 2 + 3)
    assert info.architecture == "qwen2"
    assert info.quantization == "F32"
    assert info.missing == []
    assert "model.safetensors.index.json" in info.files


def test_missing_shard_means_not_downloaded(tmp_path: Path) -> None:
    paths = _sharded(tmp_path)
    paths[1].unlink()
    info = inspect_path(tmp_path)
    assert not info.downloaded
    assert info.missing == [paths[1].name]
    assert info.parameters is None


def test_broken_shard_is_an_error_naming_it(tmp_path: Path) -> None:
    paths = _sharded(tmp_path)
    paths[2].write_bytes(paths[2].read_bytes()[:-4])
    with pytest.raises(ModelFileError, match="truncated") as caught:
        inspect_path(tmp_path)
    assert caught.value.path == str(paths[2])


@pytest.mark.parametrize("shard", ["../outside.safetensors", "/etc/passwd", ""])
def test_index_cannot_point_outside_the_model(tmp_path: Path, shard: str) -> None:
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": shard}}))
    with pytest.raises(ModelFileError, match="not a file name in this directory"):
        inspect_path(tmp_path)


@pytest.mark.parametrize(
    "content", ["{", "[]", '{"weight_map": {}}', '{"weight_map": [1]}', "[" * 100_000]
)
def test_broken_index_is_an_error(tmp_path: Path, content: str) -> None:
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(content)
    with pytest.raises(ModelFileError, match=r"JSON|weight_map|nested") as caught:
        inspect_path(tmp_path)
    assert caught.value.path == str(index)
