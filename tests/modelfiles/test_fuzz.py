"""Fuzzing the readers: truncated and mutated real files either parse or raise ModelFileError.

Hypothesis's deadline is the time bound: every example must finish within it.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rbee.modelfiles import ModelFileError, inspect_path
from rbee.modelfiles import gguf as our_gguf
from rbee.modelfiles import safetensors as our_safetensors

from .conftest import write_gguf, write_safetensors

FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("fuzzseed")
    gguf_path = write_gguf(
        directory / "seed.gguf",
        tokens=[f"t{i}" for i in range(40)],
        tensors={"w": np.zeros((4, 4), dtype=np.float32)},
    )
    st_path = write_safetensors(
        directory / "seed.safetensors",
        {"a": np.zeros((3, 2), dtype=np.float16), "b": np.ones((5,), dtype=np.float32)},
        metadata={"format": "pt"},
    )
    return {"gguf": gguf_path.read_bytes(), "safetensors": st_path.read_bytes()}


def _read(kind: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"fuzz.{kind}"
        path.write_bytes(content)
        try:
            if kind == "gguf":
                our_gguf.read_header(path)
            else:
                our_safetensors.read_header(path)
            inspect_path(directory)
        except ModelFileError as exc:
            problem, where = exc.problem, exc.path
            assert problem
            assert where


def _mutate(content: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(content)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data)


@pytest.mark.parametrize("kind", ["gguf", "safetensors"])
@FUZZ
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_truncated_files(seed_files: dict[str, bytes], kind: str, cut: int) -> None:
    content = seed_files[kind]
    _read(kind, content[: cut % (len(content) + 1)])


@pytest.mark.parametrize("kind", ["gguf", "safetensors"])
@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2000), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_headers(
    seed_files: dict[str, bytes], kind: str, edits: list[tuple[int, int]]
) -> None:
    _read(kind, _mutate(seed_files[kind], edits))


@FUZZ
@given(
    position=st.integers(min_value=8, max_value=400),
    value=st.sampled_from([0xFF, 0x7F, 0x80, 0x00, 0x01]),
    width=st.integers(min_value=1, max_value=8),
)
def test_gguf_lengths_and_counts_set_huge(
    seed_files: dict[str, bytes], position: int, value: int, width: int
) -> None:
    """Blast a run of bytes in the header, which is where counts and lengths live."""
    data = bytearray(seed_files["gguf"])
    data[position : position + width] = bytes([value]) * width
    _read("gguf", bytes(data))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_after_a_valid_magic(junk: bytes) -> None:
    _read("gguf", b"GGUF\x03\x00\x00\x00" + junk)
    _read("safetensors", len(junk).to_bytes(8, "little") + junk)
