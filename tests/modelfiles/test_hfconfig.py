"""Reading config.json: architecture tokens, context, vocabulary, dtype and quantization."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rbee.modelfiles import ModelFileError
from rbee.modelfiles.hfconfig import read_config

from .conftest import write_config


@pytest.mark.parametrize(
    ("fields", "architecture"),
    [
        ({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}, "qwen2"),
        ({"model_type": "phi3", "architectures": ["Phi3ForCausalLM"]}, "phi3"),
        ({"model_type": "Mistral", "architectures": None}, "mistral"),
        ({"model_type": "bert", "architectures": ["BertForMaskedLM"]}, "bert"),
        ({"model_type": None, "architectures": ["LlamaForCausalLM"]}, "llama"),
        ({"model_type": None, "architectures": ["GPT2LMHeadModel"]}, "gpt2"),
        ({"model_type": "bad type!", "architectures": ["BertModel"]}, "bert"),
        ({"model_type": None, "architectures": None}, None),
    ],
)
def test_architecture_is_a_lower_case_token(
    tmp_path: Path, fields: dict[str, Any], architecture: str | None
) -> None:
    assert read_config(write_config(tmp_path, **fields)).architecture == architecture


def test_context_vocab_and_dtype(tmp_path: Path) -> None:
    config = read_config(write_config(tmp_path, max_position_embeddings=32768, vocab_size=151936))
    assert (config.context_length, config.vocab_size, config.dtype) == (32768, 151936, "BF16")
    newer = read_config(write_config(tmp_path, torch_dtype=None, dtype="float16"))
    assert newer.dtype == "F16"


def test_multimodal_text_config_supplies_what_the_top_level_lacks(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        model_type="llava",
        architectures=["LlavaForConditionalGeneration"],
        max_position_embeddings=None,
        vocab_size=None,
        torch_dtype=None,
        text_config={
            "max_position_embeddings": 4096,
            "vocab_size": 32064,
            "torch_dtype": "float16",
        },
    )
    config = read_config(path)
    assert config.architecture == "llava"
    assert (config.context_length, config.vocab_size, config.dtype) == (4096, 32064, "F16")


@pytest.mark.parametrize(
    ("quantization_config", "name"),
    [
        ({"quant_method": "gptq", "bits": 4, "group_size": 128}, "gptq-4bit"),
        ({"quant_method": "awq", "bits": 4}, "awq-4bit"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes-4bit"),
        ({"load_in_8bit": True}, "bitsandbytes-8bit"),
        ({"quant_method": "fp8"}, "fp8"),
        ({"group_size": 64, "bits": 4}, "q-4bit"),
        ({}, None),
    ],
)
def test_quantization_config_names(
    tmp_path: Path, quantization_config: dict[str, Any], name: str | None
) -> None:
    path = write_config(tmp_path, quantization_config=quantization_config)
    assert read_config(path).quantization == name


@pytest.mark.parametrize("content", ["", "{", "[1]", '"x"', "[" * 100_000, "\xff"])
def test_broken_config_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content, encoding="latin-1")
    with pytest.raises(ModelFileError) as caught:
        read_config(path)
    assert caught.value.path == str(path)


def test_wrong_types_are_ignored_not_trusted(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, max_position_embeddings="4096", vocab_size=-5, model_type=7, torch_dtype=3
    )
    config = read_config(path)
    assert config.context_length is None
    assert config.vocab_size is None
    assert config.architecture == "llama"
    assert config.dtype is None
