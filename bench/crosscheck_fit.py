"""`make crosscheck`: rbee.fit's estimate against what llama.cpp itself allocates.

Not part of CI: it needs llama-cpp-python, which compiles llama.cpp from source for many minutes
(`make crosscheck` installs it into .venv when it is missing). For each case this writes a GGUF
with gguf.GGUFWriter (llama architecture, the real attention and feed-forward shapes of the four
test models, 2 layers, Q4_0 weights of zeros, a real-sized vocabulary), loads it with
llama-cpp-python in a child process at a context length, and reads llama.cpp's log:

    llama_kv_cache:        CPU KV buffer size =    44.00 MiB
    llama_context:        CPU compute buffer size =    10.01 MiB

Then it prints our KV and compute estimates beside them, the error of each, and the mean and
worst absolute error of the compute estimate. Exit 1 if a KV figure differs (the formula must be
exact) or a compute estimate is off by more than `COMPUTE_TOLERANCE`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

COMPUTE_TOLERANCE = 0.25
MIB = 1024 * 1024
N_LAYER = 2


@dataclass(frozen=True)
class Shape:
    name: str
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    tied: bool = False
    arch: str = "llama"
    head_dim: int = 0
    """0: n_embd / n_head."""
    sliding_window: int = 0


SHAPES = (
    Shape("small (8 heads)", 256, 8, 8, 512, 1000),
    Shape("tinyllama", 2048, 32, 4, 5632, 32000),
    Shape("qwen2.5-0.5b", 896, 14, 2, 4864, 151936, tied=True),
    Shape("phi3-mini", 3072, 32, 32, 8192, 32064),
    Shape("mistral-7b", 4096, 32, 8, 14336, 32000),
    Shape("wide ffn", 1024, 8, 8, 16384, 1000),
    # Gemma 2 2B's shapes: every other layer uses a 4096-token sliding window.
    Shape("gemma2-2b", 2304, 8, 4, 9216, 256000, True, "gemma2", 256, 4096),
)
CASES: tuple[tuple[str, int, str, bool], ...] = (
    # (shape, n_ctx, kv type, flash attention)
    ("small (8 heads)", 512, "f16", False),
    ("small (8 heads)", 2048, "f16", False),
    ("small (8 heads)", 8192, "f16", False),
    ("tinyllama", 2048, "f16", False),
    ("tinyllama", 2048, "q8_0", True),
    ("qwen2.5-0.5b", 512, "f16", False),
    ("qwen2.5-0.5b", 8192, "f16", False),
    ("phi3-mini", 4096, "f16", False),
    ("phi3-mini", 4096, "q4_0", True),
    ("mistral-7b", 4096, "f16", False),
    ("mistral-7b", 16384, "f16", False),
    # Held out: the compute formula was fitted on the cases above, not on these.
    ("small (8 heads)", 1000, "f16", False),
    ("tinyllama", 8192, "f16", False),
    ("qwen2.5-0.5b", 32768, "f16", False),
    ("phi3-mini", 512, "f16", False),
    ("mistral-7b", 1024, "f16", False),
    ("mistral-7b", 32768, "f16", False),
    ("wide ffn", 512, "f16", False),
    ("wide ffn", 4096, "f16", False),
    ("gemma2-2b", 2048, "f16", False),
    ("gemma2-2b", 8192, "f16", False),
)
GGML_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}


def write_model(path: Path, shape: Shape) -> None:
    import gguf
    import numpy as np

    head_dim = shape.head_dim or shape.n_embd // shape.n_head
    writer = gguf.GGUFWriter(path, shape.arch)
    # A neutral name: llama.cpp adjusts special tokens by model name (e.g. "phi3").
    writer.add_name("rbee crosscheck")
    writer.add_context_length(32768)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    if shape.head_dim:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    if shape.sliding_window:
        writer.add_sliding_window(shape.sliding_window)
    writer.add_vocab_size(shape.n_vocab)
    writer.add_file_type(2)  # Q4_0
    writer.add_tokenizer_model("llama")
    # As a real SentencePiece vocabulary: control tokens, the 256 byte tokens (llama.cpp looks
    # up <0x0A>), then ordinary pieces.
    byte_tokens = [f"<0x{byte:02X}>" for byte in range(256)]
    rest = [f"t{i}" for i in range(3 + 256, shape.n_vocab)]
    writer.add_token_list(["<unk>", "<s>", "</s>", *byte_tokens, *rest])
    writer.add_token_scores([0.0] * shape.n_vocab)
    writer.add_token_types([2, 3, 3] + [6] * 256 + [1] * len(rest))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def q4(name: str, rows: int, cols: int) -> None:
        data = np.zeros((rows, cols // 32 * 18), dtype=np.uint8)
        # The byte shape (rows, cols / 32 x 18) tells the writer the element shape.
        writer.add_tensor(name, data, raw_dtype=gguf.GGMLQuantizationType.Q4_0)

    def norm(name: str) -> None:
        writer.add_tensor(name, np.ones((shape.n_embd,), dtype=np.float32))

    q4("token_embd.weight", shape.n_vocab, shape.n_embd)
    norm("output_norm.weight")
    if not shape.tied:
        q4("output.weight", shape.n_vocab, shape.n_embd)
    for layer in range(N_LAYER):
        prefix = f"blk.{layer}."
        norm(prefix + "attn_norm.weight")
        q4(prefix + "attn_q.weight", shape.n_head * head_dim, shape.n_embd)
        q4(prefix + "attn_k.weight", shape.n_head_kv * head_dim, shape.n_embd)
        q4(prefix + "attn_v.weight", shape.n_head_kv * head_dim, shape.n_embd)
        q4(prefix + "attn_output.weight", shape.n_embd, shape.n_head * head_dim)
        if shape.arch == "gemma2":
            norm(prefix + "post_attention_norm.weight")
            norm(prefix + "post_ffw_norm.weight")
        norm(prefix + "ffn_norm.weight")
        q4(prefix + "ffn_gate.weight", shape.n_ff, shape.n_embd)
        q4(prefix + "ffn_up.weight", shape.n_ff, shape.n_embd)
        q4(prefix + "ffn_down.weight", shape.n_embd, shape.n_ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


LOADER = """
import sys
from llama_cpp import Llama
Llama(model_path=sys.argv[1], n_ctx=int(sys.argv[2]), type_k=int(sys.argv[3]),
      type_v=int(sys.argv[3]), flash_attn=sys.argv[4] == "1", n_gpu_layers=0,
      n_threads=1, swa_full=False, verbose=True)
"""
_KV = re.compile(r"KV buffer size\s*=\s*([\d.]+) MiB")
_COMPUTE = re.compile(r"CPU compute buffer size\s*=\s*([\d.]+) MiB")


def measure(path: Path, n_ctx: int, kv_type: str, flash: bool) -> tuple[float, float]:
    """(KV MiB, compute MiB) as llama.cpp reports them."""
    flag = "1" if flash else "0"
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(path), str(n_ctx), str(GGML_TYPES[kv_type]), flag],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = done.stderr + done.stdout
    kv = sum(float(m) for m in _KV.findall(log))
    compute = sum(float(m) for m in _COMPUTE.findall(log))
    if done.returncode != 0 or not kv:
        raise RuntimeError(
            f"llama.cpp did not load {path} (exit {done.returncode}):\n{log[-2000:]}"
        )
    return kv, compute


def main() -> int:
    import importlib

    from rbee import fit

    try:
        llama_cpp = importlib.import_module("llama_cpp")
    except ImportError:
        print("llama-cpp-python is not installed; run `make crosscheck` (it installs it)")
        return 1
    print(f"llama-cpp-python {llama_cpp.__version__}; {N_LAYER}-layer GGUFs with real shapes")
    print(
        f"{'model':16} {'ctx':>6} {'kv':5} {'fa':3} {'KV llama.cpp':>13} {'KV ours':>9} "
        f"{'compute llama.cpp':>18} {'compute ours':>13} {'error':>7}"
    )
    shapes = {shape.name: shape for shape in SHAPES}
    errors: list[float] = []
    exact = True
    with tempfile.TemporaryDirectory(prefix="rbee-crosscheck-") as tmp:
        written: dict[str, Path] = {}
        for name, n_ctx, kv_type, flash in CASES:
            if name not in written:
                written[name] = Path(tmp) / f"{name.split()[0]}.gguf"
                write_model(written[name], shapes[name])
            path = written[name]
            kv, compute = measure(path, n_ctx, kv_type, flash)
            estimate = fit.estimate(fit.model_shape(path), n_ctx, kv_type)
            our_kv = estimate.kv_bytes / MIB
            our_compute = estimate.compute_bytes / MIB
            exact = exact and abs(our_kv - kv) < 0.01
            if flash:
                error_text = "(fa)"  # our compute formula is for llama.cpp without flash attention
            else:
                error = (our_compute - compute) / compute
                errors.append(error)
                error_text = f"{error:+.1%}"
            print(
                f"{name:16} {n_ctx:6} {kv_type:5} {'yes' if flash else 'no':3} "
                f"{kv:10.2f} MiB {our_kv:9.2f} {compute:14.2f} MiB {our_compute:13.2f} "
                f"{error_text:>7}"
            )
    worst = max(abs(e) for e in errors)
    mean = sum(abs(e) for e in errors) / len(errors)
    print(f"\nKV cache: {'exact in every case' if exact else 'DIFFERS'}")
    print(f"compute buffer: mean absolute error {mean:.1%}, worst {worst:.1%}")
    return 0 if exact and worst <= COMPUTE_TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
