"""Reading a Hugging Face `config.json`: architecture, context, vocabulary, dtype, quantization."""

from __future__ import annotations

import os
import re

from rbee.modelfiles.errors import ModelFileError
from rbee.modelfiles.records import Record
from rbee.modelfiles.safetensors import read_json_file

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

MAX_CONFIG_BYTES = 16_000_000
_TOKEN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
"""The catalog's architecture token; always `fullmatch`ed (`$` would let "llama\n" through)."""
# Class-name endings that say what the model is used for, not what it is.
_HEAD_SUFFIXES = (
    "ForConditionalGeneration",
    "ForSequenceClassification",
    "ForTokenClassification",
    "ForQuestionAnswering",
    "ForMaskedLM",
    "ForCausalLM",
    "LMHeadModel",
    "ForPreTraining",
    "Model",
)


class HFConfig(Record):
    _fields = ("path", "architecture", "context_length", "vocab_size", "dtype", "quantization")

    def __init__(
        self,
        path: str,
        *,
        architecture: str | None = None,
        context_length: int | None = None,
        vocab_size: int | None = None,
        dtype: str | None = None,
        quantization: str | None = None,
    ) -> None:
        self.path = path
        self.architecture = architecture
        self.context_length = context_length
        self.vocab_size = vocab_size
        self.dtype = dtype
        self.quantization = quantization


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def architecture_token(model_type: object, class_name: object) -> str | None:
    """`model_type` when it is a clean token, else the class name without its head, lower-cased."""
    if isinstance(model_type, str):
        token = model_type.strip().lower()
        if _TOKEN.fullmatch(token):
            return token
    if isinstance(class_name, str) and class_name:
        base = class_name
        for suffix in _HEAD_SUFFIXES:
            if base.endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
                break
        token = base.lower()
        if _TOKEN.fullmatch(token):
            return token
    return None


_DTYPE_NAMES = {
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "float64": "F64",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
}


def quantization_name(config: object) -> str | None:
    """A short name for a `quantization_config`, e.g. `gptq-4bit`, `bitsandbytes-4bit`."""
    if not isinstance(config, dict):
        return None
    method = config.get("quant_method")
    method = method.strip().lower() if isinstance(method, str) and method.strip() else None
    bits = _positive_int(config.get("bits")) or _positive_int(config.get("w_bit"))
    if bits is None and config.get("load_in_4bit") is True:
        bits = 4
    if bits is None and config.get("load_in_8bit") is True:
        bits = 8
    if method is None:
        method = (
            "bitsandbytes" if config.get("load_in_4bit") or config.get("load_in_8bit") else None
        )
    if method is None and bits is not None:
        method = "q"  # MLX writes only group_size and bits
    if method is None:
        return None
    return f"{method}-{bits}bit" if bits else method


def parse_config(document: object, path: str) -> HFConfig:
    if not isinstance(document, dict):
        raise ModelFileError(path, "is not a JSON object")
    result = HFConfig(path=path)
    architectures = document.get("architectures")
    first_class = architectures[0] if isinstance(architectures, list) and architectures else None
    result.architecture = architecture_token(document.get("model_type"), first_class)
    text: dict[str, Any] = (
        document["text_config"] if isinstance(document.get("text_config"), dict) else {}
    )

    def pick(*keys: str) -> Any:
        for source in (document, text):
            for key in keys:
                if key in source and source[key] is not None:
                    return source[key]
        return None

    result.context_length = _positive_int(
        pick("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")
    )
    result.vocab_size = _positive_int(pick("vocab_size", "padded_vocab_size"))
    dtype = pick("torch_dtype", "dtype")
    if isinstance(dtype, str) and dtype:
        result.dtype = _DTYPE_NAMES.get(dtype.removeprefix("torch."), dtype.upper())
    result.quantization = quantization_name(
        document.get("quantization_config") or document.get("quantization")
    )
    return result


def read_config(path: str | os.PathLike[str]) -> HFConfig:
    name = os.fspath(path)
    return parse_config(
        read_json_file(name, MAX_CONFIG_BYTES, "config.json", "a model config"), name
    )
