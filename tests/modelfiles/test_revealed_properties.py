"""Whatever the file readers reveal, the catalog accepts (issue 8 §4).

Hypothesis writes real files with hostile header values (safetensors dtypes, config.json fields,
GGUF metadata) and checks that what `inspect_path` reveals for the catalog (`revealed_metadata`,
the architecture, the format) makes a valid `ModelEntry`: `register` and `scan` copy these values
into entries, so a value the catalog refuses would make them fail.
"""

from __future__ import annotations

import json
import struct
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rbee.catalog import ModelEntry
from rbee.modelfiles import ModelFileError, ModelInfo, inspect_path, revealed_metadata
from rbee.modelfiles.inspect import size_gb

from .conftest import write_gguf

PROPERTY = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
# Text a hostile or sloppy writer may put in a header: tokens with a trailing newline or spaces
# first among them (`$` in a `match` pattern lets "F16\n" through).
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["F16", "BF16", "llama", "qwen2", "gptq"]).flatmap(
        lambda token: st.sampled_from([token, token + "\n", " " + token, token + " \n"])
    ),
    st.text(max_size=80),
)


def assert_catalog_accepts(info: ModelInfo) -> None:
    entry = ModelEntry(
        id="m",
        name="M",
        architecture=info.architecture or "llama",
        format=info.format,
        size_gb=size_gb(info.size_bytes),
        downloaded=info.downloaded,
        metadata=revealed_metadata(info),
    )
    entry.validate()


def inspect_or_none(path: Path) -> ModelInfo | None:
    try:
        return inspect_path(path)
    except ModelFileError:
        return None  # refused files reveal nothing


def raw_safetensors(path: Path, dtype: str) -> None:
    """A safetensors file written byte by byte: its own library refuses unknown dtypes."""
    header = json.dumps({"w": {"dtype": dtype, "shape": [2], "data_offsets": [0, 4]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)


@PROPERTY
@given(dtype=HOSTILE_TEXT)
@example(dtype="F16\n")
def test_any_safetensors_dtype(dtype: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        raw_safetensors(Path(directory) / "model.safetensors", dtype)
        info = inspect_or_none(Path(directory))
        if info is not None:
            assert_catalog_accepts(info)


CONFIG_VALUES = st.one_of(st.none(), HOSTILE_TEXT, st.integers(), st.booleans())


@PROPERTY
@given(
    model_type=CONFIG_VALUES,
    class_name=CONFIG_VALUES,
    torch_dtype=CONFIG_VALUES,
    quantization=st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"quant_method": CONFIG_VALUES, "bits": st.one_of(st.none(), st.integers())}
        ),
    ),
    context=st.one_of(st.none(), st.integers(), HOSTILE_TEXT),
)
@example(
    model_type="llama\n", class_name="Llama\n", torch_dtype="F16\n", quantization=None, context=None
)
@example(
    model_type=None,
    class_name="X\nForCausalLM",
    torch_dtype=None,
    quantization={"quant_method": "gptq\n", "bits": 4},
    context=None,
)
def test_any_config_json(
    model_type: Any, class_name: Any, torch_dtype: Any, quantization: Any, context: Any
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        document = {
            "model_type": model_type,
            "architectures": [class_name],
            "torch_dtype": torch_dtype,
            "quantization_config": quantization,
            "max_position_embeddings": context,
        }
        (Path(directory) / "config.json").write_text(json.dumps(document))
        raw_safetensors(Path(directory) / "model.safetensors", "BF16")
        info = inspect_or_none(Path(directory))
        if info is not None:
            assert_catalog_accepts(info)


@PROPERTY
@given(
    architecture=HOSTILE_TEXT.filter(bool),
    file_type=st.integers(min_value=0, max_value=2**32 - 1),
    context=st.integers(min_value=0, max_value=2**32 - 1),
)
@example(architecture="llama\n", file_type=1, context=2048)
def test_any_gguf_metadata(architecture: str, file_type: int, context: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = write_gguf(
            Path(directory) / "model.gguf",
            arch=architecture,
            file_type=file_type,
            context_length=context,
            tensors={"w": np.zeros((2,), dtype=np.float32)},
        )
        info = inspect_or_none(path)
        if info is not None:
            assert_catalog_accepts(info)
