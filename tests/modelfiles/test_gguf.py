"""Our GGUF header reader, cross-checked against llama.cpp's gguf.GGUFReader on real files."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import gguf
import numpy as np
import pytest

from rbee.modelfiles import ModelFileError
from rbee.modelfiles import gguf as our_gguf

from .conftest import BIG_VOCAB, GGUFFactory, cross_check


def test_reads_what_llama_cpp_wrote(gguf_file: GGUFFactory) -> None:
    header = cross_check(gguf_file(tokens=["<s>", "</s>", "a", "b"]))
    assert header.version == 3
    assert header.architecture == "llama"
    assert header.name == "Tiny Test Llama"
    assert header.context_length == 2048
    assert header.vocab_size == 4
    assert header.quantization == "Q4_K_M"
    assert header.parameters == 64 * 16 + 16 * 16 + 16


def test_big_vocabulary_is_counted_without_decoding(big_vocab_gguf: Path) -> None:
    header = cross_check(big_vocab_gguf)
    assert header.architecture == "qwen2"
    assert header.vocab_size == BIG_VOCAB
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert tokens == our_gguf.GGUFArray(our_gguf.STRING, BIG_VOCAB)


def test_declared_vocab_size_wins_over_token_count(gguf_file: GGUFFactory) -> None:
    header = cross_check(gguf_file(vocab_size=32000, tokens=["a", "b", "c"]))
    assert header.vocab_size == 32000


def test_missing_keys_are_none(gguf_file: GGUFFactory) -> None:
    header = cross_check(gguf_file(name=None, context_length=None, file_type=None))
    assert header.name is None
    assert header.context_length is None
    assert header.vocab_size is None
    assert header.quantization is None


def test_strings_longer_than_a_read_chunk_are_skipped_correctly(gguf_file: GGUFFactory) -> None:
    # Tokens that straddle the reader's chunk boundaries, then a key after the array.
    tokens = ["x" * 70_000, "short", "y" * 200_000, *[f"t{i}" for i in range(5000)]]

    def after(writer: gguf.GGUFWriter) -> None:
        writer.add_string("general.description", "after the tokens")
        writer.add_array("test.nested", [[1, 2], [3, 4, 5]])

    header = cross_check(gguf_file(tokens=tokens, extra=after))
    assert header.vocab_size == len(tokens)
    assert header.metadata["general.description"] == "after the tokens"
    assert header.metadata["test.nested"] == our_gguf.GGUFArray(our_gguf.ARRAY, 2)


def test_every_value_type_matches_the_reference(gguf_file: GGUFFactory) -> None:
    def values(writer: gguf.GGUFWriter) -> None:
        writer.add_uint8("t.u8", 200)
        writer.add_int8("t.i8", -100)
        writer.add_uint16("t.u16", 60000)
        writer.add_int16("t.i16", -30000)
        writer.add_uint32("t.u32", 4_000_000_000)
        writer.add_int32("t.i32", -2_000_000_000)
        writer.add_float32("t.f32", 1.5)
        writer.add_uint64("t.u64", 2**63 + 5)
        writer.add_int64("t.i64", -(2**62))
        writer.add_float64("t.f64", 0.1)
        writer.add_bool("t.bool", True)
        writer.add_string("t.unicode", "Grüße 🐝")
        writer.add_array("t.floats", [0.5] * 1000)

    header = cross_check(gguf_file(extra=values))
    assert header.metadata["t.u64"] == 2**63 + 5
    assert header.metadata["t.unicode"] == "Grüße 🐝"
    assert header.metadata["t.bool"] is True


def test_quantized_tensors_and_alignment(tmp_path: Path) -> None:
    # Raw Q8_0 bytes: 2 rows of 64 elements, each row 2 blocks of 34 bytes.
    path = tmp_path / "q8.gguf"
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_custom_alignment(64)
    writer.data_alignment = 64
    writer.add_file_type(7)
    raw = np.zeros((2, 68), dtype=np.uint8)
    writer.add_tensor("q8", raw, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("f", np.zeros((3, 5), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    header = cross_check(path)
    assert header.quantization == "Q8_0"
    assert header.parameters == 2 * 64 + 3 * 5
    assert header.data_offset % 64 == 0


def test_version_2_reads_like_version_3(gguf_file: GGUFFactory) -> None:
    path = gguf_file()
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", 2)
    path.write_bytes(bytes(data))
    assert cross_check(path).version == 2


def test_big_endian_is_refused_clearly(gguf_file: GGUFFactory) -> None:
    path = gguf_file(endianess=gguf.GGUFEndian.BIG)
    with pytest.raises(ModelFileError, match="big-endian"):
        our_gguf.read_header(path)


def test_version_1_is_refused_clearly(gguf_file: GGUFFactory) -> None:
    path = gguf_file()
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", 1)
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="version 1 is not supported") as caught:
        our_gguf.read_header(path)
    assert caught.value.path == str(path)


def test_quantization_names_match_llama_cpp() -> None:
    for file_type in gguf.LlamaFileType:
        if file_type is gguf.LlamaFileType.GUESSED:
            continue
        expected = file_type.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        assert our_gguf.FILE_TYPES[file_type.value] == expected
    assert our_gguf.FILE_TYPES[15] == "Q4_K_M"


def test_unknown_file_type_gives_no_quantization(gguf_file: GGUFFactory) -> None:
    assert our_gguf.read_header(gguf_file(file_type=999)).quantization is None


def test_cut_download_is_truncated(gguf_file: GGUFFactory) -> None:
    path = gguf_file()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelFileError, match="truncated"):
        our_gguf.read_header(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a GGUF file"),
        (b"GGU", "not a GGUF file"),
        (b"PK\x03\x04" + b"\0" * 100, "not a GGUF file"),
        (b"GGUF" + struct.pack("<I", 3), "truncated"),
        (b"GGUF" + struct.pack("<I", 99) + b"\0" * 16, "unsupported GGUF version 99"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 2**62), "far too many"),
        (b"GGUF" + struct.pack("<IQQ", 3, 2**40, 0), "far too many"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1000) + b"\0" * 200, "more than the 224-byte file"),
        (b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 2**60) + b"\0" * 64, "at most 65536"),
        (
            b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IQ", 8, 2**50),
            "past the end of the file",
        ),
        (
            b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IIQ", 9, 8, 2**60),
            "at most",
        ),
        (
            b"GGUF"
            + struct.pack("<IQQQ", 3, 0, 1, 1)
            + b"k"
            + struct.pack("<IIQ", 9, 8, 1000)
            + b"\0" * 100,
            "more than the file can hold",
        ),
        (
            b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IIQ", 9, 10, 2**61),
            "more than the rest of the file",
        ),
        (b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<I", 77), "type 77"),
        (
            b"GGUF" + struct.pack("<IQQQ", 3, 1, 0, 1) + b"t" + struct.pack("<I", 99) + b"\0" * 64,
            "99 dimensions",
        ),
    ],
)
def test_broken_headers_give_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as caught:
        our_gguf.read_header(path)
    assert str(path) in str(caught.value)


def test_one_string_array_over_the_limit_is_refused_before_walking(tmp_path: Path) -> None:
    """A 20 GB hole behind a header claiming 32M empty strings: refused, nothing allocated."""
    path = tmp_path / "hostile.gguf"
    header = b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IIQ", 9, 8, 2**25)
    with path.open("wb") as stream:
        stream.write(header)
        stream.truncate(20 * 10**9)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"claims 33554432 strings \(at most"):
            our_gguf.read_header(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def _sparse_gguf(path: Path, entries: list[tuple[bytes, int]], size: int | None = None) -> Path:
    """A GGUF of metadata entries written at given offsets (the bytes between them left holes)."""
    with path.open("wb") as stream:
        stream.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(entries)))
        for content, following_hole in entries:
            stream.write(content)
            stream.seek(following_hole, 1)
        stream.truncate(size if size is not None else stream.tell())
    return path


def _empty_strings(key: bytes, count: int) -> tuple[bytes, int]:
    """A string array of `count` empty strings: its header, then 8 zero bytes per string."""
    return struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, 8, count), 8 * count


def test_arrays_each_under_the_limit_cannot_add_up_past_the_per_file_budget(
    tmp_path: Path,
) -> None:
    """Hundreds of arrays just under the per-array limit would take minutes to walk."""
    count = our_gguf.MAX_STRING_ARRAY_LENGTH
    arrays = our_gguf.MAX_WALKED_ELEMENTS // count + 1
    assert count * arrays > our_gguf.MAX_WALKED_ELEMENTS
    path = _sparse_gguf(
        tmp_path / "many-arrays.gguf", [_empty_strings(b"k%d" % i, count) for i in range(arrays)]
    )
    budget = f"past the limit of {our_gguf.MAX_WALKED_ELEMENTS} strings and nested arrays"
    with pytest.raises(ModelFileError, match=f"{budget} in a whole file") as caught:
        our_gguf.read_header(path)
    assert f"'k{arrays - 1}'" in str(caught.value)


def test_nested_arrays_count_against_the_per_file_budget(tmp_path: Path) -> None:
    # Each inner array is 12 zero bytes: an empty array of uint8.
    count = our_gguf.MAX_WALKED_ELEMENTS + 1
    entry = b"\x01\0\0\0\0\0\0\0k" + struct.pack("<IIQ", 9, 9, count)
    path = _sparse_gguf(tmp_path / "nested.gguf", [(entry, 12 * count)])
    with pytest.raises(ModelFileError, match=f"claims {count} more elements"):
        our_gguf.read_header(path)


def test_walking_string_arrays_reads_a_bounded_number_of_bytes_per_file(tmp_path: Path) -> None:
    """Strings a read chunk long each cost one chunk read; a terabyte file would cost minutes."""
    length = 1 << 16
    count = our_gguf.MAX_WALKED_BYTES // length + 1
    path = tmp_path / "long-strings.gguf"
    header = b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IIQ", 9, 8, count)
    stride = 8 + length
    with path.open("wb") as stream:
        stream.write(header)
        length_field = struct.pack("<Q", length)
        for index in range(count):
            stream.seek(len(header) + index * stride)
            stream.write(length_field)
        stream.truncate(len(header) + count * stride)
    with pytest.raises(ModelFileError, match=f"more than {our_gguf.MAX_WALKED_BYTES} bytes"):
        our_gguf.read_header(path)


def test_huge_string_values_are_skipped_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "long-template.gguf"
    length = 3 * 10**9
    header = (
        b"GGUF"
        + struct.pack("<IQQQ", 3, 0, 2, 23)
        + b"tokenizer.chat_template"
        + struct.pack("<IQ", 8, length)
    )
    with path.open("wb") as stream:
        stream.write(header)
        stream.seek(len(header) + length)
        stream.write(struct.pack("<Q", 20) + b"general.architecture" + struct.pack("<IQ", 8, 5))
        stream.write(b"llama")
    tracemalloc.start()
    try:
        result = our_gguf.read_header(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.metadata["tokenizer.chat_template"] is None
    assert result.architecture == "llama"
    assert peak < 8 * 2**20


def test_split_parts_are_named_like_llama_cpp(gguf_file: GGUFFactory) -> None:
    first = gguf_file("split/model.gguf", split_max_tensors=1)
    parts = our_gguf.split_parts(first)
    assert parts is not None
    assert [p.name for p in parts] == [f"model-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert all(p.is_file() for p in parts)
    assert our_gguf.split_parts(Path("model.gguf")) is None
