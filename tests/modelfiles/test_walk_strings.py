"""The string-array walk (the hot loop of reading a tokenizer) steps exactly as the format says,
wherever a chunk ends and whatever the lengths claim."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from rbee.modelfiles.gguf import _walk_strings_unpacking, walk_strings


def one_at_a_time(chunk: bytes, count: int) -> tuple[int, int]:
    """The format's definition: a u64 length, then that many bytes; stop at a partial length."""
    offset = walked = 0
    while walked < count and offset + 8 <= len(chunk):
        offset += 8 + struct.unpack_from("<Q", chunk, offset)[0]
        walked += 1
    return walked, offset


@settings(max_examples=400, database=None)
@given(
    strings=st.lists(st.binary(max_size=40), max_size=12),
    cut=st.integers(min_value=0, max_value=600),
    tail=st.binary(max_size=12),
    count=st.integers(min_value=0, max_value=16),
)
def test_walk_matches_the_definition(
    strings: list[bytes], cut: int, tail: bytes, count: int
) -> None:
    data = b"".join(struct.pack("<Q", len(s)) + s for s in strings)
    chunk = data[:cut] + tail  # a chunk may end anywhere, followed by anything
    assert walk_strings(chunk, count) == one_at_a_time(chunk, count)
    assert _walk_strings_unpacking(chunk, count) == one_at_a_time(chunk, count)  # big-endian


def test_hostile_lengths_stop_the_walk() -> None:
    huge = struct.pack("<Q", 2**64 - 1)
    assert walk_strings(struct.pack("<Q", 3) + b"abc" + huge + b"x" * 30, 9) == (
        2,
        11 + 8 + 2**64 - 1,
    )
    assert walk_strings(huge * 8, 8) == (1, 8 + 2**64 - 1)
