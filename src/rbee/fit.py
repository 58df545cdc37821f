"""How much memory llama.cpp needs to run a model, and whether a pool's GPU can hold it.

The estimate has three parts (docs/fleet.md states every formula):

- weights: the GGUF's tensor data (each tensor's bytes, from the offsets in its header), or the
  safetensors headers' tensors (elements x bytes per element) for a model not yet converted;
- KV cache: `n_layer x n_cells x n_head_kv x (key_length + value_length) x bytes per element`
  (= `2 x n_layer x n_ctx x n_head_kv x head_dim x bytes` when keys and values have the same
  size), with `n_cells` = the context rounded up to 256 as llama.cpp does; layers with
  sliding-window attention that llama.cpp applies keep only `min(n_cells, pad256(window +
  n_ubatch))` cells; f16 costs 2 bytes per element, q8_0 34/32, q4_0 18/32;
- compute buffer: llama.cpp's graph for one batch of `n_ub` = min(512, n_cells) tokens without
  flash attention, all f32. Its peak is the largest of three stages: attention (one layer's
  scores for every head, the mask, and the batch's Q, K, V and hidden states), output (the
  logits of every token in the batch) and feed-forward:
  `4 x n_ub x max(n_head x n_kv + n_kv + 5 x n_embd + n_embd_k + n_embd_v,
  n_vocab + 3 x n_embd, 3 x n_ff + n_kv + 4 x n_embd + n_embd_k + n_embd_v)` bytes, where
  n_embd_k + n_embd_v = n_head_kv x (key_length + value_length).

Nothing here prints; errors are `FitError` (a `WorkflowError`: one line on the CLI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rbee.workflows.errors import WorkflowError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rbee.modelfiles.gguf import GGUFHeader, GGUFValue

KV_TYPES: dict[str, tuple[int, int]] = {"f16": (2, 1), "q8_0": (34, 32), "q4_0": (18, 32)}
"""KV cache element types: (bytes per block, elements per block), as ggml stores them."""
DEFAULT_KV_TYPE = "f16"
N_UBATCH = 512
"""llama.cpp's default physical batch (n_ubatch) in llama-server, llama-cli and
llama-cpp-python alike."""
CTX_PAD = 256
"""llama.cpp rounds the context (and so the KV cache) up to a multiple of this."""
MIB = 1024 * 1024

SWA_PATTERNS = {"gemma2": 2, "gemma3": 6, "gemma3_text": 6, "cohere2": 4, "llama4": 4}
"""Architectures whose sliding window llama.cpp applies, with its default layer pattern: in
each group of N layers, the first N-1 use the window and the last attends to everything. A GGUF
may give its own `{arch}.attention.sliding_window_pattern`."""
SWA_IGNORED = {
    "phi3": "llama.cpp disables Phi-3's sliding window (ggml-org/llama.cpp#13676)",
}


class FitError(WorkflowError):
    """The model's files do not say enough to estimate its memory."""


def pad(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def kv_bytes(elements: int, kv_type: str) -> int:
    block_bytes, block = KV_TYPES[kv_type]
    return elements * block_bytes // block


@dataclass
class ModelShape:
    """What the memory estimate needs from a model's files."""

    source: str
    """gguf or config.json"""
    architecture: str | None
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    key_length: int
    value_length: int
    n_ff: int
    n_vocab: int
    n_ctx_train: int | None
    weights_bytes: int
    layer_bytes: list[int] = field(default_factory=list)
    """Weights of each repeating layer (what offloading one more layer moves to the GPU)."""
    output_bytes: int = 0
    """Weights of the output layer (on the GPU once every layer is)."""
    input_bytes: int = 0
    """The token embeddings: llama.cpp keeps them in system memory."""
    sliding_window: int | None = None
    swa_layers: int = 0
    """How many layers llama.cpp runs with the sliding window (0: none, or not applied)."""
    swa_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "architecture": self.architecture,
            "n_layer": self.n_layer,
            "n_embd": self.n_embd,
            "n_head": self.n_head,
            "n_head_kv": self.n_head_kv,
            "key_length": self.key_length,
            "value_length": self.value_length,
            "n_ff": self.n_ff,
            "n_vocab": self.n_vocab,
            "n_ctx_train": self.n_ctx_train,
            "weights_bytes": self.weights_bytes,
            "sliding_window": self.sliding_window,
            "swa_layers": self.swa_layers,
            "swa_note": self.swa_note,
        }


# -- reading shapes -----------------------------------------------------------------------------


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _swa(
    arch: str | None, window: int | None, pattern: int | None, n_layer: int
) -> tuple[int, str | None]:
    """(layers using the window, a note) as llama.cpp would run this architecture."""
    if window is None or arch is None:
        return 0, None
    if arch in SWA_IGNORED:
        return 0, f"sliding window {window} declared; {SWA_IGNORED[arch]}"
    if pattern is None:
        pattern = SWA_PATTERNS.get(arch)
    if pattern is None:
        return 0, f"sliding window {window} declared; llama.cpp does not apply it to {arch}"
    if pattern <= 1:
        return n_layer, None  # every layer (pattern 0 or 1 in llama.cpp's sense: all SWA)
    return sum(1 for layer in range(n_layer) if layer % pattern < pattern - 1), None


def _tensor_sizes(header: GGUFHeader) -> dict[str, int]:
    """Each tensor's bytes in the file: the distance to the next tensor's data (alignment
    padding included, as llama.cpp's buffers include it)."""
    ordered = sorted(header.tensors, key=lambda tensor: tensor.offset)
    end = header.file_size - header.data_offset
    sizes: dict[str, int] = {}
    for tensor, following in zip(ordered, [*ordered[1:], None], strict=True):
        stop = following.offset if following is not None else end
        sizes[tensor.name] = max(0, stop - tensor.offset)
    return sizes


def shape_from_gguf(headers: list[GGUFHeader]) -> ModelShape:
    """The shape of a GGUF model (all parts of a split one)."""
    main = next((h for h in headers if h.architecture), None)
    if main is None:
        raise FitError(f"{headers[0].path}: the GGUF names no general.architecture")
    arch = main.architecture
    meta = main.metadata

    def key(suffix: str) -> GGUFValue:
        return meta.get(f"{arch}.{suffix}")

    n_layer = _int(key("block_count"))
    n_embd = _int(key("embedding_length"))
    n_head = _int(key("attention.head_count"))
    if n_layer is None or n_embd is None or n_head is None:
        missing = [
            name
            for name, value in (
                ("block_count", n_layer),
                ("embedding_length", n_embd),
                ("attention.head_count", n_head),
            )
            if value is None
        ]
        raise FitError(
            f"{main.path}: no {', '.join(f'{arch}.{m}' for m in missing)} (as a single number) "
            "in the GGUF; cannot estimate its memory"
        )
    n_head_kv = _int(key("attention.head_count_kv")) or n_head
    head_dim = n_embd // n_head
    key_length = _int(key("attention.key_length")) or head_dim
    value_length = _int(key("attention.value_length")) or head_dim
    sizes: dict[str, int] = {}
    for header in headers:
        sizes.update(_tensor_sizes(header))
    layer_bytes = [0] * n_layer
    for name, size in sizes.items():
        if name.startswith("blk."):
            index = name.split(".")[1]
            if index.isdigit() and int(index) < n_layer:
                layer_bytes[int(index)] += size
    input_bytes = sizes.get("token_embd.weight", 0)
    output_bytes = sizes.get("output_norm.weight", 0) + sizes.get(
        "output.weight",
        input_bytes,  # tied embeddings: llama.cpp duplicates them for output
    )
    window = _int(key("attention.sliding_window"))
    swa_layers, note = _swa(arch, window, _int(key("attention.sliding_window_pattern")), n_layer)
    return ModelShape(
        source="gguf",
        architecture=arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        key_length=key_length,
        value_length=value_length,
        n_ff=_int(key("feed_forward_length")) or 4 * n_embd,
        n_vocab=main.vocab_size or 0,
        n_ctx_train=main.context_length,
        weights_bytes=sum(h.file_size - h.data_offset for h in headers if h.tensors),
        layer_bytes=layer_bytes,
        output_bytes=output_bytes,
        input_bytes=input_bytes,
        sliding_window=window,
        swa_layers=swa_layers,
        swa_note=note,
    )


def shape_from_config(
    document: object, path: str, weights_bytes: int, parameters: int = 0
) -> ModelShape:
    """The shape of a Hugging Face model from its `config.json` and its weights' size."""
    if not isinstance(document, dict):
        raise FitError(f"{path}: not a JSON object")
    nested = document.get("text_config")
    text: dict[str, Any] = nested if isinstance(nested, dict) else {}

    def pick(*keys: str) -> Any:
        for source in (document, text):
            for name in keys:
                if source.get(name) is not None:
                    return source[name]
        return None

    n_layer = _int(pick("num_hidden_layers", "n_layer", "num_layers"))
    n_embd = _int(pick("hidden_size", "n_embd", "d_model"))
    n_head = _int(pick("num_attention_heads", "n_head"))
    if n_layer is None or n_embd is None or n_head is None:
        raise FitError(
            f"{path}: needs num_hidden_layers, hidden_size and num_attention_heads to estimate "
            "the model's memory"
        )
    n_head_kv = _int(pick("num_key_value_heads", "n_head_kv")) or n_head
    head_dim = _int(pick("head_dim")) or n_embd // n_head
    n_vocab = _int(pick("vocab_size")) or 0
    arch = pick("model_type")
    arch = arch if isinstance(arch, str) else None
    window = _int(pick("sliding_window"))
    if pick("use_sliding_window") is False:
        window = None  # Qwen2 declares a window it does not use
    pattern = _int(pick("sliding_window_pattern"))
    swa_layers, note = _swa(arch, window, pattern, n_layer)
    tied = pick("tie_word_embeddings")
    bytes_per_weight = weights_bytes / parameters if parameters else 2.0
    embedding = int(n_vocab * n_embd * bytes_per_weight)
    output = embedding  # tied or not, llama.cpp holds an output matrix of this size
    stored_embeddings = embedding if tied is True else 2 * embedding
    repeating = max(0, weights_bytes - stored_embeddings)
    per_layer = repeating // n_layer
    return ModelShape(
        source="config.json",
        architecture=arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        key_length=head_dim,
        value_length=head_dim,
        n_ff=_int(pick("intermediate_size", "n_inner", "ffn_dim")) or 4 * n_embd,
        n_vocab=n_vocab,
        n_ctx_train=_int(pick("max_position_embeddings", "n_positions", "seq_length")),
        weights_bytes=weights_bytes,
        layer_bytes=[per_layer] * n_layer,
        output_bytes=output,
        input_bytes=embedding,
        sliding_window=window,
        swa_layers=swa_layers,
        swa_note=note,
    )


def model_shape(path: str | os.PathLike[str]) -> ModelShape:
    """Read the shape of the model at `path` (a GGUF file, or a model directory)."""
    from rbee.modelfiles import gguf, safetensors
    from rbee.modelfiles.errors import ModelFileError
    from rbee.modelfiles.inspect import inspect_path

    target = Path(path)
    try:
        info = inspect_path(target)
        if info.missing or info.partial:
            raise FitError(f"{target}: the model's files are incomplete; download it first")
        base = target if target.is_dir() else target.parent
        files = [base / name for name in info.files] if target.is_dir() else [target]
        if info.format == "gguf":
            ggufs = [f for f in files if f.name.endswith(".gguf")]
            headers = [gguf.read_header(f) for f in ggufs]
            language = [h for h in headers if h.architecture not in (None, "clip")]
            return shape_from_gguf(language or headers)
        tensors = [f for f in files if f.name.endswith(".safetensors")]
        config = base / "config.json"
        if not config.is_file():
            raise FitError(f"{base}: no config.json next to the safetensors files")
        weights = 0
        parameters = 0
        for file in tensors:
            header = safetensors.read_header(file)
            for dtype, count in header.parameters_by_dtype.items():
                weights += int(count * safetensors.DTYPE_BYTES.get(dtype, 2))
                parameters += count
        document = safetensors.read_json_file(config, 16_000_000, "config.json", "a model config")
        return shape_from_config(document, str(config), weights, parameters)
    except ModelFileError as exc:
        raise FitError(str(exc)) from exc


# -- the estimate -------------------------------------------------------------------------------


@dataclass
class Estimate:
    n_ctx: int
    n_cells: int
    kv_type: str
    n_ubatch: int
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    layer_bytes: list[int]
    """Per repeating layer: its weights plus its KV cache."""
    output_bytes: int
    input_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.compute_bytes

    @property
    def gpu_full_bytes(self) -> int:
        """Everything on the GPU: all layers, the output layer, the compute buffer (the token
        embeddings stay in system memory)."""
        return sum(self.layer_bytes) + self.output_bytes + self.compute_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_ctx": self.n_ctx,
            "kv_type": self.kv_type,
            "n_ubatch": self.n_ubatch,
            "weights_bytes": self.weights_bytes,
            "kv_bytes": self.kv_bytes,
            "compute_bytes": self.compute_bytes,
            "total_bytes": self.total_bytes,
            "gpu_full_bytes": self.gpu_full_bytes,
        }


def kv_cache_bytes(shape: ModelShape, n_ctx: int, kv_type: str = DEFAULT_KV_TYPE) -> list[int]:
    """The KV cache of each layer, in bytes."""
    cells = pad(n_ctx, CTX_PAD)
    swa_cells = min(cells, pad((shape.sliding_window or 0) + min(N_UBATCH, cells), CTX_PAD))
    per_cell = shape.n_head_kv * (shape.key_length + shape.value_length)
    full = kv_bytes(cells * per_cell, kv_type)
    windowed = kv_bytes(swa_cells * per_cell, kv_type)
    pattern = _layer_pattern(shape)
    return [windowed if is_swa else full for is_swa in pattern]


def _layer_pattern(shape: ModelShape) -> list[bool]:
    """Which layers use the sliding window (as many as `shape.swa_layers`, in llama.cpp's
    pattern where known; only their count matters for memory)."""
    return [index < shape.swa_layers for index in range(shape.n_layer)]


def compute_buffer_bytes(shape: ModelShape, n_ctx: int) -> int:
    """The compute buffer of one batch (formula in the module docstring and docs/fleet.md)."""
    n_kv = pad(n_ctx, CTX_PAD)
    n_ub = min(N_UBATCH, n_kv)
    swa_kv = min(n_kv, pad((shape.sliding_window or 0) + n_ub, CTX_PAD))
    masks = n_kv + (swa_kv if shape.swa_layers else 0)
    n_embd_kv = shape.n_head_kv * (shape.key_length + shape.value_length)
    attention = shape.n_head * n_kv + masks + 5 * shape.n_embd + n_embd_kv
    output = shape.n_vocab + 3 * shape.n_embd
    feed_forward = 3 * shape.n_ff + masks + 4 * shape.n_embd + n_embd_kv
    return 4 * n_ub * max(attention, output, feed_forward)


def estimate(
    shape: ModelShape, n_ctx: int | None = None, kv_type: str = DEFAULT_KV_TYPE
) -> Estimate:
    """The memory to run the model at `n_ctx` (default: the model's own context)."""
    if kv_type not in KV_TYPES:
        raise FitError(f"unknown KV cache type {kv_type!r} (one of {', '.join(KV_TYPES)})")
    if n_ctx is None:
        n_ctx = shape.n_ctx_train or 4096
    if n_ctx < 1:
        raise FitError(f"the context must be at least 1 token, got {n_ctx}")
    per_layer_kv = kv_cache_bytes(shape, n_ctx, kv_type)
    layers = [w + k for w, k in zip(shape.layer_bytes, per_layer_kv, strict=True)]
    return Estimate(
        n_ctx=n_ctx,
        n_cells=pad(n_ctx, CTX_PAD),
        kv_type=kv_type,
        n_ubatch=min(N_UBATCH, pad(n_ctx, CTX_PAD)),
        weights_bytes=shape.weights_bytes,
        kv_bytes=sum(per_layer_kv),
        compute_bytes=compute_buffer_bytes(shape, n_ctx),
        layer_bytes=layers,
        output_bytes=shape.output_bytes,
        input_bytes=shape.input_bytes,
    )


# -- the verdict --------------------------------------------------------------------------------


@dataclass
class Verdict:
    """`kind`: gpu (everything on the GPU), partial (N of M layers on the GPU, the rest on the
    CPU), cpu (no GPU, or not one layer fits: runs from RAM), none (does not fit at all)."""

    kind: str
    layers_on_gpu: int
    layers_total: int
    budget_bytes: int | None
    needed_bytes: int
    ram_bytes: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layers_on_gpu": self.layers_on_gpu,
            "layers_total": self.layers_total,
            "budget_bytes": self.budget_bytes,
            "needed_bytes": self.needed_bytes,
            "ram_bytes": self.ram_bytes,
            "message": self.message,
        }


def gib(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "?"
    return f"{n_bytes / (1024 * MIB):.2f} GiB"


def verdict(est: Estimate, budget_bytes: int | None, ram_bytes: int | None) -> Verdict:
    """Compare the estimate with the GPU budget (None: no GPU) and the RAM left for the CPU.

    Layers count as llama.cpp counts them when offloading: the repeating layers plus the
    output layer (a 32-layer model offloads "33/33 layers").
    """
    total_layers = len(est.layer_bytes) + 1
    needed = est.gpu_full_bytes
    fits_ram = ram_bytes is None or est.total_bytes <= ram_bytes
    if budget_bytes is not None and needed <= budget_bytes:
        return Verdict(
            "gpu",
            total_layers,
            total_layers,
            budget_bytes,
            needed,
            ram_bytes,
            f"fits on the GPU: needs {gib(needed)} of {gib(budget_bytes)}",
        )
    on_gpu = 0
    if budget_bytes is not None:
        used = est.compute_bytes
        for layer in est.layer_bytes:
            if used + layer > budget_bytes:
                break
            used += layer
            on_gpu += 1
    if on_gpu > 0:
        on_gpu_bytes = est.compute_bytes + sum(est.layer_bytes[:on_gpu])
        rest = est.total_bytes - on_gpu_bytes + est.compute_bytes  # CPU has its own buffer
        if ram_bytes is None or rest <= ram_bytes:
            return Verdict(
                "partial",
                on_gpu,
                total_layers,
                budget_bytes,
                needed,
                ram_bytes,
                f"fits with {on_gpu} of {total_layers} layers offloaded: the GPU holds "
                f"{gib(on_gpu_bytes)} of {gib(budget_bytes)}, the rest ({gib(rest)}) "
                "runs from RAM",
            )
    if fits_ram:
        where = "no GPU" if budget_bytes is None else f"not one layer fits in {gib(budget_bytes)}"
        return Verdict(
            "cpu",
            0,
            total_layers,
            budget_bytes,
            needed,
            ram_bytes,
            f"runs on the CPU only ({where}): needs {gib(est.total_bytes)} of RAM, "
            f"{gib(ram_bytes)} available",
        )
    return Verdict(
        "none",
        0,
        total_layers,
        budget_bytes,
        needed,
        ram_bytes,
        f"does not fit: needs {gib(est.total_bytes)}, "
        f"{'no GPU' if budget_bytes is None else 'GPU ' + gib(budget_bytes)}, "
        f"RAM {gib(ram_bytes)} available",
    )
