"""Reading a safetensors file's JSON header (and a sharded model's index), never its tensors.

A safetensors file is an 8-byte little-endian header length, that many bytes of JSON describing
each tensor (`dtype`, `shape`, `data_offsets` into the data that follows), then the data. The
length is checked against a ceiling and the file size before anything is allocated.
"""

from __future__ import annotations

import os
import struct

from rbee.modelfiles.errors import ModelFileError
from rbee.modelfiles.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

MAX_HEADER_BYTES = 32_000_000
"""Real headers are kilobytes to a few MB (100,000 tensors take ~10 MB). The reference
implementation allows 100 MB, but parsing that much hostile JSON costs over 1 GB of Python
objects; 32 MB (~300,000 tensors) keeps the worst case near 350 MB."""
MAX_INDEX_BYTES = 16_000_000
INDEX_NAME = "model.safetensors.index.json"
MAX_DIMS = 16

# Bytes per element, for checking that each tensor's byte range matches its shape.
DTYPE_BYTES: dict[str, float] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
    "F4": 0.5,
    "F6_E2M3": 0.75,
    "F6_E3M2": 0.75,
}


class SafetensorsHeader(Record):
    """What one safetensors file says about its tensors."""

    _fields = ("path", "tensor_count", "parameters", "parameters_by_dtype", "metadata")

    def __init__(
        self,
        path: str,
        tensor_count: int = 0,
        parameters: int = 0,
        parameters_by_dtype: dict[str, int] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.tensor_count = tensor_count
        self.parameters = parameters
        self.parameters_by_dtype: dict[str, int] = (
            {} if parameters_by_dtype is None else parameters_by_dtype
        )
        self.metadata: dict[str, str] = {} if metadata is None else metadata

    @property
    def dtype(self) -> str | None:
        """The dtype holding the most parameters (the model's precision)."""
        if not self.parameters_by_dtype:
            return None
        return max(self.parameters_by_dtype.items(), key=lambda item: (item[1], item[0]))[0]


def load_json_bounded(data: bytes, path: str, what: str) -> Any:
    """Parse JSON, turning every way it can fail (including deep nesting) into `ModelFileError`."""
    import json  # here: `inspect` of a GGUF never parses JSON (start-up time)

    try:
        return json.loads(data)
    except RecursionError:
        raise ModelFileError(path, f"{what} is nested too deeply to be real JSON") from None
    except UnicodeDecodeError as exc:
        raise ModelFileError(path, f"{what} is not UTF-8 text: {exc.reason}") from None
    except ValueError as exc:
        raise ModelFileError(path, f"{what} is not valid JSON: {exc}") from None


def read_json_file(path: str | os.PathLike[str], max_bytes: int, what: str, kind: str) -> Any:
    """The JSON document in a small side file (an index, a config), read at most `max_bytes`.

    `what` names it in parse errors ("the index"); `kind` says what a larger file cannot be
    ("a real index").
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            raw = stream.read(max_bytes + 1)
    except OSError as exc:
        raise ModelFileError(name, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise ModelFileError(name, f"larger than {max_bytes} bytes; not {kind}")
    return load_json_bounded(raw, name, what)


def read_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    """Read and check the header of the safetensors file at `path`."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            prefix = stream.read(8)
            if len(prefix) < 8:
                raise ModelFileError(name, f"too short for a safetensors file ({size} bytes)")
            length: int = struct.unpack("<Q", prefix)[0]
            if length > MAX_HEADER_BYTES:
                raise ModelFileError(
                    name,
                    f"header length {length} is absurd (at most {MAX_HEADER_BYTES}); "
                    "not a safetensors file?",
                )
            if length > size - 8:
                raise ModelFileError(
                    name,
                    f"header length {length} runs past the end of the file ({size} bytes); "
                    "truncated or not a safetensors file",
                )
            raw = stream.read(length)
    except OSError as exc:
        raise ModelFileError(name, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) != length:
        raise ModelFileError(name, "file shrank while its header was read")
    if not raw.lstrip().startswith(b"{"):
        raise ModelFileError(name, "the header is not a JSON object; not a safetensors file?")
    document = load_json_bounded(raw, name, "the header")
    return _check(document, name, data_size=size - 8 - length)


def _check(document: object, path: str, data_size: int) -> SafetensorsHeader:
    if not isinstance(document, dict):
        raise ModelFileError(path, "the header is not a JSON object")
    header = SafetensorsHeader(path=path)
    for tensor_name, info in document.items():
        if tensor_name == "__metadata__":
            if isinstance(info, dict):
                header.metadata = {str(k): str(v) for k, v in info.items() if isinstance(v, str)}
            continue
        what = f"tensor {tensor_name[:80]!r}"
        if not isinstance(info, dict):
            raise ModelFileError(path, f"{what} is not described by an object")
        dtype = info.get("dtype")
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if not isinstance(dtype, str) or not dtype:
            raise ModelFileError(path, f"{what} has no dtype")
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_DIMS
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise ModelFileError(path, f"{what} has an invalid shape {str(shape)[:80]}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise ModelFileError(path, f"{what} has invalid data_offsets {str(offsets)[:80]}")
        if offsets[1] > data_size:
            raise ModelFileError(
                path,
                f"truncated: {what} ends at byte {offsets[1]} of the data, which has only "
                f"{data_size} bytes (an incomplete download?)",
            )
        elements = 1
        for dim in shape:
            elements *= dim
        width = DTYPE_BYTES.get(dtype)
        if width is not None and elements * width != offsets[1] - offsets[0]:
            raise ModelFileError(
                path,
                f"{what}: shape {shape} of {dtype} needs {int(elements * width)} bytes, "
                f"its data_offsets span {offsets[1] - offsets[0]}",
            )
        header.tensor_count += 1
        header.parameters += elements
        header.parameters_by_dtype[dtype] = header.parameters_by_dtype.get(dtype, 0) + elements
    return header


def read_index(path: str | os.PathLike[str]) -> list[str]:
    """The shard file names a `model.safetensors.index.json` lists, in first-seen order."""
    name = os.fspath(path)
    document = read_json_file(name, MAX_INDEX_BYTES, "the index", "a real index")
    weight_map = document.get("weight_map") if isinstance(document, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise ModelFileError(name, "has no weight_map object naming the shards")
    shards: dict[str, None] = {}
    for tensor, shard in weight_map.items():
        if not isinstance(shard, str) or not _is_safe_relative(shard):
            raise ModelFileError(
                name, f"weight_map[{tensor[:80]!r}] is not a file name in this directory"
            )
        shards[shard] = None
    return list(shards)


def _is_safe_relative(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and "\\" not in name and ".." not in parts


def shard_paths(index_path: Path) -> list[Path]:
    return [index_path.parent / shard for shard in read_index(index_path)]


def shard_files(index_path: str) -> list[str]:
    """`shard_paths` for a path given as a string (no `pathlib`: start-up time)."""
    folder = os.path.dirname(index_path)
    return [os.path.join(folder, shard) for shard in read_index(index_path)]
