"""Reading a GGUF file's header: its metadata key/values and tensor infos, never its weights.

Only the standard library is used, and arrays are skipped rather than decoded: a fixed-size array
is one seek, and a string array (the tokenizer's 150,000 tokens) is walked in bounded chunks,
reading each length and jumping over the bytes. Every count and length is checked against what
is left of the file before it is trusted, and what walking may cost is budgeted per file (not
only per array), so a hostile header fails fast with `ModelFileError` instead of allocating
gigabytes or looping for minutes.
"""

from __future__ import annotations

import os
import re
import struct

from rbee.modelfiles.errors import ModelFileError
from rbee.modelfiles.records import FrozenRecord, Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# llama.cpp's `llama_ftype` (general.file_type), named as llama.cpp's own tools print them.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
}

# ggml tensor types: (elements per block, bytes per block), from ggml's type traits. Used to
# tell whether the file is long enough to hold every tensor; unknown (newer) types are not checked.
_TENSOR_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 40),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
}

# GGUF metadata value types.
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = (
    range(13)
)
_SCALARS: dict[int, struct.Struct] = {
    UINT8: struct.Struct("<B"),
    INT8: struct.Struct("<b"),
    UINT16: struct.Struct("<H"),
    INT16: struct.Struct("<h"),
    UINT32: struct.Struct("<I"),
    INT32: struct.Struct("<i"),
    FLOAT32: struct.Struct("<f"),
    BOOL: struct.Struct("<?"),
    UINT64: struct.Struct("<Q"),
    INT64: struct.Struct("<q"),
    FLOAT64: struct.Struct("<d"),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_BIG_ENDIAN = struct.pack("=H", 1) == b"\x00\x01"

# Bounds that no real model comes near, so that a hostile header cannot cost more than seconds
# and megabytes: llama.cpp itself limits names to 64 bytes and tensors to 4 dimensions.
MAX_KEY_BYTES = 65_536
MAX_KEPT_STRING_BYTES = 1 << 20
"""Longer string values (e.g. a huge chat template) are skipped and kept as `None`."""
MAX_KV_COUNT = 1 << 20
MAX_TENSOR_COUNT = 1 << 21
MAX_DIMS = 8
MAX_ARRAY_DEPTH = 4
MAX_STRING_ARRAY_LENGTH = 1 << 21
"""Strings in one array: 8x the largest real vocabulary (Gemma's 262,144 tokens)."""
MAX_WALKED_ELEMENTS = 1 << 22
"""Strings and nested arrays walked one by one in a whole file (each costs a Python step)."""
MAX_WALKED_BYTES = 1 << 28
"""Bytes read while walking string arrays in a whole file (real tokenizers need a few MB)."""
_CHUNK = 1 << 20
"""Bytes read at a time while walking a string array (a real tokenizer takes a few chunks)."""

SPLIT_PATTERN = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$")


class GGUFArray(FrozenRecord):
    """A metadata array, skipped: its element type and length only."""

    _fields = ("element_type", "length")

    def __init__(self, element_type: int, length: int) -> None:
        self.element_type = element_type
        self.length = length


GGUFValue = int | float | bool | str | GGUFArray | None


class GGUFTensor(FrozenRecord):
    _fields = ("name", "shape", "tensor_type", "offset")

    def __init__(self, name: str, shape: tuple[int, ...], tensor_type: int, offset: int) -> None:
        self.name = name
        self.shape = shape
        self.tensor_type = tensor_type
        self.offset = offset

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


class GGUFHeader(Record):
    """What a GGUF file says about itself, read from its header only."""

    _fields = ("path", "version", "metadata", "tensors", "data_offset", "file_size")

    def __init__(
        self,
        path: str,
        version: int,
        *,
        metadata: dict[str, GGUFValue] | None = None,
        tensors: list[GGUFTensor] | None = None,
        data_offset: int = 0,
        file_size: int = 0,
    ) -> None:
        self.path = path
        self.version = version
        self.metadata: dict[str, GGUFValue] = {} if metadata is None else metadata
        self.tensors: list[GGUFTensor] = [] if tensors is None else tensors
        self.data_offset = data_offset
        self.file_size = file_size

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) and value else None

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) and value.strip() else None

    def _arch_int(self, suffix: str) -> int | None:
        arch = self.architecture
        if arch is None:
            return None
        value = self.metadata.get(f"{arch}.{suffix}")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return None

    @property
    def context_length(self) -> int | None:
        return self._arch_int("context_length")

    @property
    def vocab_size(self) -> int | None:
        size = self._arch_int("vocab_size")
        if size is not None:
            return size
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if isinstance(tokens, GGUFArray) and tokens.length > 0:
            return tokens.length
        return None

    @property
    def file_type(self) -> int | None:
        value = self.metadata.get("general.file_type")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return None

    @property
    def quantization(self) -> str | None:
        file_type = self.file_type
        if file_type is None:
            return None
        return FILE_TYPES.get(file_type)

    @property
    def parameters(self) -> int:
        return sum(tensor.elements for tensor in self.tensors)


class _Reader:
    """Bounds-checked little-endian reads from a file of known size."""

    def __init__(self, stream: BinaryIO, path: str, size: int) -> None:
        self.stream = stream
        self.path = path
        self.size = size
        self.pos = 0
        # What is left of the per-file budgets: without them a file could hold hundreds of
        # arrays each just under the per-array limit, and cost minutes instead of a second.
        self.elements_left = MAX_WALKED_ELEMENTS
        self.bytes_left = MAX_WALKED_BYTES

    def fail(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    def remaining(self) -> int:
        return self.size - self.pos

    def read(self, count: int, what: str) -> bytes:
        if count > self.remaining():
            raise self.fail(
                f"truncated GGUF header: {what} needs {count} bytes at offset {self.pos}, "
                f"but the file ends at {self.size}"
            )
        data = self.stream.read(count)
        if len(data) != count:
            raise self.fail(f"file shrank while reading {what} at offset {self.pos}")
        self.pos += count
        return data

    def skip(self, count: int, what: str) -> None:
        if count > self.remaining():
            raise self.fail(
                f"{what} of {count} bytes at offset {self.pos} runs past the end of the file "
                f"({self.size} bytes)"
            )
        self.pos += count
        self.stream.seek(self.pos)

    def u32(self, what: str) -> int:
        value: int = _U32.unpack(self.read(4, what))[0]
        return value

    def u64(self, what: str) -> int:
        value: int = _U64.unpack(self.read(8, what))[0]
        return value

    def string(self, what: str, limit: int) -> str | None:
        """A GGUF string; None (skipped) when longer than `limit` bytes."""
        length = self.u64(f"the length of {what}")
        if length > self.remaining():
            raise self.fail(
                f"{what} claims {length} bytes at offset {self.pos}, past the end of the file"
            )
        if length > limit:
            self.skip(length, what)
            return None
        return self.read(length, what).decode("utf-8", errors="replace")

    def key(self, what: str) -> str:
        length = self.u64(f"the length of {what}")
        if length > MAX_KEY_BYTES:
            raise self.fail(f"{what} is {length} bytes long (at most {MAX_KEY_BYTES} allowed)")
        return self.read(length, what).decode("utf-8", errors="replace")

    def charge_elements(self, count: int, what: str) -> None:
        """Spend `count` of the file's budget of elements walked one by one, before walking."""
        if count > self.elements_left:
            raise self.fail(
                f"{what} claims {count} more elements to walk, past the limit of "
                f"{MAX_WALKED_ELEMENTS} strings and nested arrays in a whole file"
            )
        self.elements_left -= count

    def skip_string_array(self, count: int, what: str) -> None:
        """Jump over `count` strings, reading only their lengths, in bounded chunks."""
        if count > MAX_STRING_ARRAY_LENGTH:
            raise self.fail(
                f"{what} claims {count} strings (at most {MAX_STRING_ARRAY_LENGTH} allowed)"
            )
        if count * 8 > self.remaining():
            raise self.fail(f"{what} claims {count} strings, more than the file can hold")
        self.charge_elements(count, what)
        left = count
        while left:
            base = self.pos
            if base + 8 > self.size:
                raise self.fail(f"truncated GGUF header: {what} runs past the end of the file")
            wanted = min(_CHUNK, self.size - base)
            if wanted > self.bytes_left:
                raise self.fail(
                    f"{what}: walking string arrays would read more than {MAX_WALKED_BYTES} "
                    "bytes of this file, far more than any real model's header"
                )
            self.bytes_left -= wanted
            chunk = self.stream.read(wanted)
            if len(chunk) < 8:
                raise self.fail(f"file shrank while reading {what} at offset {base}")
            # The last string's bytes may run past the chunk: the next starts right after them.
            walked, offset = walk_strings(chunk, left)
            left -= walked
            if base + offset > self.size:
                raise self.fail(
                    f"{what} runs past the end of the file (a string ends at {base + offset}, "
                    f"the file at {self.size})"
                )
            self.pos = base + offset
            self.stream.seek(self.pos)

    def value(self, value_type: int, what: str, depth: int = 0) -> GGUFValue:
        scalar = _SCALARS.get(value_type)
        if scalar is not None:
            result: int | float | bool = scalar.unpack(self.read(scalar.size, what))[0]
            return result
        if value_type == STRING:
            return self.string(what, MAX_KEPT_STRING_BYTES)
        if value_type == ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise self.fail(f"{what} nests arrays more than {MAX_ARRAY_DEPTH} deep")
            element_type = self.u32(f"the element type of {what}")
            length = self.u64(f"the length of {what}")
            self.skip_array(element_type, length, what, depth + 1)
            return GGUFArray(element_type, length)
        raise self.fail(f"{what} has unknown value type {value_type}")

    def skip_array(self, element_type: int, length: int, what: str, depth: int) -> None:
        scalar = _SCALARS.get(element_type)
        if scalar is not None:
            if length > self.remaining() // scalar.size:
                raise self.fail(
                    f"{what} claims {length} elements, more than the rest of the file can hold"
                )
            self.skip(length * scalar.size, what)
        elif element_type == STRING:
            self.skip_string_array(length, what)
        elif element_type == ARRAY:
            # Every nested array takes at least 12 bytes (type and length).
            if length > self.remaining() // 12:
                raise self.fail(f"{what} claims {length} arrays, more than the file can hold")
            self.charge_elements(length, what)
            for index in range(length):
                self.value(ARRAY, f"{what}[{index}]", depth)
        else:
            raise self.fail(f"{what} has unknown element type {element_type}")


def walk_strings(chunk: bytes, count: int) -> tuple[int, int]:
    """Step over up to `count` GGUF strings (u64 length, then the bytes) from the start of
    `chunk`, reading only their length fields: (strings stepped over, offset after them).

    Stops before the first length field that is not wholly inside `chunk`; the offset may lie
    past its end, where the last string's bytes run on. The hot loop of reading a tokenizer
    (300,000 strings for Qwen2's tokens and merges), so it is as tight as Python allows: the
    chunk is seen as eight arrays of u64, one per alignment, so that a length is one index
    (no call, no tuple); there is no bounds test (an index past the end raises); and it steps
    four strings per turn.
    """
    if _BIG_ENDIAN:  # the u64 arrays would read the lengths backwards
        return _walk_strings_unpacking(chunk, count)
    whole = memoryview(chunk)
    size = len(chunk)
    lengths = [whole[a : a + (size - a) // 8 * 8].cast("Q") for a in range(min(8, size))]
    lengths += [memoryview(b"").cast("Q")] * (8 - len(lengths))
    offset = 0
    quads = 0
    start = 0
    try:
        for quads in range(count >> 2):  # noqa: B007 - read after the loop
            start = offset
            offset += 8 + lengths[offset & 7][offset >> 3]
            offset += 8 + lengths[offset & 7][offset >> 3]
            offset += 8 + lengths[offset & 7][offset >> 3]
            offset += 8 + lengths[offset & 7][offset >> 3]
        quads = count >> 2
    except (IndexError, OverflowError):  # past the chunk (or, for a hostile length, past 2**63)
        offset = start  # redo that turn one string at a time, to count exactly
    walked = quads * 4
    try:
        while walked < count:
            offset += 8 + lengths[offset & 7][offset >> 3]
            walked += 1
    except (IndexError, OverflowError):
        pass
    return walked, offset


def _walk_strings_unpacking(chunk: bytes, count: int) -> tuple[int, int]:
    """`walk_strings` one `struct` read at a time (for big-endian machines)."""
    unpack_from = _U64.unpack_from
    offset = 0
    walked = 0
    try:
        while walked < count:
            offset += 8 + unpack_from(chunk, offset)[0]
            walked += 1
    except (struct.error, OverflowError):
        pass
    return walked, offset


def read_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Read and check the header of the GGUF file at `path`; raise `ModelFileError` if broken."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            return _read(_Reader(stream, name, size))
    except OSError as exc:
        raise ModelFileError(name, f"cannot read: {exc.strerror or exc}") from exc


def _read(reader: _Reader) -> GGUFHeader:
    magic = reader.read(4, "the magic") if reader.size >= 4 else b""
    if magic != MAGIC:
        raise reader.fail(f"not a GGUF file (magic {magic!r}, expected {MAGIC!r})")
    raw = reader.read(4, "the version")
    version: int = _U32.unpack(raw)[0]
    if version not in SUPPORTED_VERSIONS:
        swapped: int = struct.unpack(">I", raw)[0]
        if swapped in SUPPORTED_VERSIONS or swapped == 1:
            raise reader.fail(
                f"big-endian GGUF (version {swapped}) is not supported; use the little-endian file"
            )
        if version == 1:
            raise reader.fail("GGUF version 1 is not supported (only versions 2 and 3)")
        raise reader.fail(f"unsupported GGUF version {version} (only versions 2 and 3)")
    tensor_count = reader.u64("the tensor count")
    kv_count = reader.u64("the metadata count")
    # A metadata entry takes at least 8 (key) + 4 (type) + 1 bytes; a tensor info at least
    # 8 (name) + 4 (dims) + 4 (type) + 8 (offset).
    _check_count(reader, kv_count, "metadata entries", MAX_KV_COUNT, 13)
    _check_count(reader, tensor_count, "tensors", MAX_TENSOR_COUNT, 24)
    header = GGUFHeader(path=reader.path, version=version, file_size=reader.size)
    for index in range(kv_count):
        key = reader.key(f"metadata key #{index}")
        value_type = reader.u32(f"the type of {key!r}")
        header.metadata[key] = reader.value(value_type, repr(key))
    for index in range(tensor_count):
        tensor_name = reader.key(f"tensor name #{index}")
        what = f"tensor {tensor_name!r}"
        n_dims = reader.u32(f"the dimension count of {what}")
        if n_dims > MAX_DIMS:
            raise reader.fail(f"{what} claims {n_dims} dimensions (at most {MAX_DIMS})")
        shape = tuple(reader.u64(f"a dimension of {what}") for _ in range(n_dims))
        tensor_type = reader.u32(f"the type of {what}")
        offset = reader.u64(f"the data offset of {what}")
        header.tensors.append(GGUFTensor(tensor_name, shape, tensor_type, offset))
    alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if (
        not isinstance(alignment, int)
        or isinstance(alignment, bool)
        or alignment <= 0
        or alignment & (alignment - 1)
    ):
        raise reader.fail(f"general.alignment must be a power of two, got {alignment!r}")
    header.data_offset = -(-reader.pos // alignment) * alignment
    _check_tensor_data(reader, header)
    return header


def _check_count(reader: _Reader, count: int, what: str, limit: int, min_bytes: int) -> None:
    if count > limit:
        raise reader.fail(f"the header claims {count} {what}, far too many (at most {limit})")
    if count > reader.remaining() // min_bytes:
        raise reader.fail(
            f"truncated GGUF header: it claims {count} {what}, more than the "
            f"{reader.size}-byte file can hold"
        )


def _check_tensor_data(reader: _Reader, header: GGUFHeader) -> None:
    """Fail when the file is too short for the tensors its header describes (a cut download)."""
    needed = header.data_offset if header.tensors else reader.pos
    for tensor in header.tensors:
        sizes = _TENSOR_TYPE_SIZES.get(tensor.tensor_type)
        if sizes is None:
            end = header.data_offset + tensor.offset
        else:
            block, block_bytes = sizes
            end = header.data_offset + tensor.offset + tensor.elements // block * block_bytes
        needed = max(needed, end)
    if needed > reader.size:
        raise reader.fail(
            f"truncated: the tensors need {needed} bytes but the file has {reader.size} "
            "(an incomplete download?)"
        )


def split_parts(path: Path) -> list[Path] | None:
    """All the part paths of a split GGUF (`x-00001-of-00003.gguf`), or None if not split."""
    names = split_part_names(os.fspath(path))
    return None if names is None else [type(path)(name) for name in names]


def split_part_names(path: str) -> list[str] | None:
    """`split_parts` for a path given as a string (no `pathlib`: start-up time)."""
    folder, name = os.path.split(path)
    match = SPLIT_PATTERN.match(name)
    if match is None:
        return None
    count = int(match["count"])
    if count < 1:
        return None
    stem = match["stem"]
    return [
        os.path.join(folder, f"{stem}-{part:05d}-of-{count:05d}.gguf")
        for part in range(1, count + 1)
    ]
