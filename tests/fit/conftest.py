"""The four test models' real shapes, as GGUF keys (written by gguf.GGUFWriter) and config.json.

The numbers are those of the models' own config.json files on the Hugging Face Hub
(TinyLlama/TinyLlama-1.1B-Chat-v1.0, Qwen/Qwen2.5-0.5B-Instruct,
microsoft/Phi-3-mini-4k-instruct, mistralai/Mistral-7B-Instruct-v0.2). The GGUFs carry the
keys llama.cpp's converter writes for them, with tiny tensors: the estimate reads shapes from
the keys, and weights from the tensors that are there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np


@dataclass(frozen=True)
class RealModel:
    id: str
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    n_ctx_train: int
    sliding_window: int | None = None
    use_sliding_window: bool | None = None
    tie_word_embeddings: bool = False
    model_type: str = ""

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def config_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "model_type": self.model_type or self.arch,
            "num_hidden_layers": self.n_layer,
            "hidden_size": self.n_embd,
            "num_attention_heads": self.n_head,
            "num_key_value_heads": self.n_head_kv,
            "intermediate_size": self.n_ff,
            "vocab_size": self.n_vocab,
            "max_position_embeddings": self.n_ctx_train,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "bfloat16",
            "sliding_window": self.sliding_window,
        }
        if self.use_sliding_window is not None:
            config["use_sliding_window"] = self.use_sliding_window
        return config


TINYLLAMA = RealModel("tinyllama", "llama", 22, 2048, 32, 4, 5632, 32000, 2048)
QWEN = RealModel(
    "qwen-0.5b",
    "qwen2",
    24,
    896,
    14,
    2,
    4864,
    151936,
    32768,
    sliding_window=32768,
    use_sliding_window=False,
    tie_word_embeddings=True,
)
PHI3 = RealModel("phi3", "phi3", 32, 3072, 32, 32, 8192, 32064, 4096, sliding_window=2047)
MISTRAL = RealModel("mistral", "llama", 32, 4096, 32, 8, 14336, 32000, 32768, model_type="mistral")
REAL_MODELS = (TINYLLAMA, QWEN, PHI3, MISTRAL)


def write_gguf(
    path: Path,
    model: RealModel,
    *,
    layers_with_tensors: int | None = None,
    extra: dict[str, int] | None = None,
) -> Path:
    """A GGUF with `model`'s keys; one small f16 tensor per layer (plus embeddings, output)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arch = model.arch
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(model.id)
    writer.add_context_length(model.n_ctx_train)
    writer.add_block_count(model.n_layer)
    writer.add_embedding_length(model.n_embd)
    writer.add_feed_forward_length(model.n_ff)
    writer.add_head_count(model.n_head)
    writer.add_head_count_kv(model.n_head_kv)
    writer.add_vocab_size(model.n_vocab)
    writer.add_file_type(1)
    if model.sliding_window is not None and model.use_sliding_window is not False:
        writer.add_sliding_window(model.sliding_window)
    for key, value in (extra or {}).items():
        writer.add_uint32(f"{arch}.{key}", value)
    writer.add_tensor("token_embd.weight", np.zeros((64, 32), dtype=np.float16))
    writer.add_tensor("output_norm.weight", np.zeros((32,), dtype=np.float32))
    if not model.tie_word_embeddings:
        writer.add_tensor("output.weight", np.zeros((64, 32), dtype=np.float16))
    for layer in range(model.n_layer if layers_with_tensors is None else layers_with_tensors):
        writer.add_tensor(f"blk.{layer}.attn_q.weight", np.zeros((32, 32), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_safetensors_model(directory: Path, model: RealModel) -> Path:
    """A model folder: config.json and a small safetensors file."""
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(model.config_json(), indent=2))
    save_file(
        {"model.embed_tokens.weight": np.zeros((64, 32), dtype=np.float16)},
        str(directory / "model.safetensors"),
    )
    return directory
