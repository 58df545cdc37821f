"""rbee.fit: the KV cache, compute buffer and verdict for the four test models' real shapes.

KV figures are checked against the formula written out by hand and against the buffer sizes
llama.cpp prints for these models (e.g. "KV self size = 44.00 MiB" for TinyLlama at 2048, 512 MiB
for Mistral 7B at 4096, 1536 MiB for Phi-3 mini at 4096); the compute estimate against the
issue's measurements (about 10, 37 and 145 MiB at 512, 2048 and 8192 for one small model).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rbee import fit
from tests.fit.conftest import (
    MISTRAL,
    PHI3,
    QWEN,
    REAL_MODELS,
    TINYLLAMA,
    RealModel,
    write_gguf,
    write_safetensors_model,
)

MIB = 1024 * 1024
GIB = 1024 * MIB
RBEE_HIVE = str(Path(sys.executable).parent / "rbee-hive")


def hand_kv(model: RealModel, n_ctx: int, bytes_per_element: float = 2) -> int:
    """2 x n_layer x n_ctx x n_head_kv x head_dim x bytes per element."""
    return int(2 * model.n_layer * n_ctx * model.n_head_kv * model.head_dim * bytes_per_element)


@pytest.fixture(params=REAL_MODELS, ids=lambda m: m.id)
def real(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[RealModel, fit.ModelShape]:
    model: RealModel = request.param
    path = write_gguf(tmp_path / f"{model.id}.gguf", model)
    return model, fit.model_shape(path)


def test_gguf_keys_give_the_real_shape(real: tuple[RealModel, fit.ModelShape]) -> None:
    model, shape = real
    assert shape.source == "gguf"
    assert (shape.n_layer, shape.n_head, shape.n_head_kv) == (
        model.n_layer,
        model.n_head,
        model.n_head_kv,
    )
    assert shape.key_length == shape.value_length == model.head_dim
    assert shape.n_ctx_train == model.n_ctx_train
    assert shape.n_vocab == model.n_vocab


@pytest.mark.parametrize("n_ctx", [512, 2048, 4096, 32768])
def test_kv_cache_f16_is_the_formula(real: tuple[RealModel, fit.ModelShape], n_ctx: int) -> None:
    model, shape = real
    assert fit.estimate(shape, n_ctx).kv_bytes == hand_kv(model, n_ctx)


@pytest.mark.parametrize(("kv_type", "per_element"), [("q8_0", 34 / 32), ("q4_0", 18 / 32)])
def test_quantized_kv_cache(
    real: tuple[RealModel, fit.ModelShape], kv_type: str, per_element: float
) -> None:
    model, shape = real
    assert fit.estimate(shape, 4096, kv_type).kv_bytes == hand_kv(model, 4096, per_element)


@pytest.mark.parametrize(
    ("model", "n_ctx", "logged_mib"),
    [(TINYLLAMA, 2048, 44), (MISTRAL, 4096, 512), (MISTRAL, 32768, 4096), (PHI3, 4096, 1536)],
    ids=lambda value: getattr(value, "id", str(value)),
)
def test_kv_cache_matches_llama_cpp_logs(
    tmp_path: Path, model: RealModel, n_ctx: int, logged_mib: int
) -> None:
    shape = fit.model_shape(write_gguf(tmp_path / "m.gguf", model))
    assert fit.estimate(shape, n_ctx).kv_bytes == logged_mib * MIB


def test_context_is_rounded_up_to_256_cells(tmp_path: Path) -> None:
    shape = fit.model_shape(write_gguf(tmp_path / "t.gguf", TINYLLAMA))
    assert fit.estimate(shape, 1000).kv_bytes == hand_kv(TINYLLAMA, 1024)


def test_default_context_is_the_models_own(real: tuple[RealModel, fit.ModelShape]) -> None:
    model, shape = real
    assert fit.estimate(shape).n_ctx == model.n_ctx_train


def test_config_json_gives_the_same_kv_as_the_gguf(tmp_path: Path) -> None:
    for model in REAL_MODELS:
        from_gguf = fit.model_shape(write_gguf(tmp_path / f"{model.id}.gguf", model))
        from_config = fit.model_shape(write_safetensors_model(tmp_path / model.id, model))
        assert from_config.source == "config.json"
        for n_ctx in (2048, 8192):
            assert (
                fit.estimate(from_config, n_ctx).kv_bytes == fit.estimate(from_gguf, n_ctx).kv_bytes
            ), model.id


def test_phi3_sliding_window_is_declared_but_not_applied(tmp_path: Path) -> None:
    shape = fit.model_shape(write_gguf(tmp_path / "phi3.gguf", PHI3))
    assert shape.sliding_window == 2047
    assert shape.swa_layers == 0
    assert shape.swa_note is not None
    assert "disables" in shape.swa_note


def test_qwen_unused_sliding_window_is_ignored(tmp_path: Path) -> None:
    shape = fit.model_shape(write_safetensors_model(tmp_path / "qwen", QWEN))
    assert shape.sliding_window is None
    assert shape.swa_layers == 0


GEMMA2_2B = RealModel("gemma2", "gemma2", 26, 2304, 8, 4, 9216, 256000, 8192, sliding_window=4096)


def test_gemma2_sliding_window_layers_keep_window_plus_batch(tmp_path: Path) -> None:
    shape = fit.model_shape(
        write_gguf(
            tmp_path / "gemma2.gguf",
            GEMMA2_2B,
            extra={"attention.key_length": 256, "attention.value_length": 256},
        )
    )
    assert shape.key_length == 256  # not embedding_length / head_count (288)
    assert shape.swa_layers == 13  # every other layer
    per_cell = 2 * 4 * 256 * 2
    full, window = 8192, 4096 + 512
    expected = 13 * full * per_cell + 13 * window * per_cell
    assert fit.estimate(shape, 8192).kv_bytes == expected
    # Below the window, the sliding layers hold the whole context like the others.
    assert fit.estimate(shape, 2048).kv_bytes == 26 * 2048 * per_cell


def shape_of(n_embd: int, n_head: int, n_head_kv: int, n_ff: int, n_vocab: int) -> fit.ModelShape:
    head_dim = n_embd // n_head
    return fit.ModelShape(
        source="gguf",
        architecture="llama",
        n_layer=2,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        key_length=head_dim,
        value_length=head_dim,
        n_ff=n_ff,
        n_vocab=n_vocab,
        n_ctx_train=32768,
        weights_bytes=0,
        layer_bytes=[0, 0],
    )


def test_compute_buffer_reproduces_the_issues_measurement() -> None:
    """About 10, 37 and 145 MiB at 512, 2048 and 8192 for one small model (8 heads) without
    flash attention; a model of 8 heads of 8 dimensions gives those figures."""
    small = shape_of(64, 8, 8, 128, 256)
    for n_ctx, measured in ((512, 10), (2048, 37), (8192, 145)):
        ours = fit.estimate(small, n_ctx).compute_bytes / MIB
        assert abs(ours - measured) / measured < 0.03, (n_ctx, ours)


# `make crosscheck` (bench/crosscheck_fit.py) on llama-cpp-python 0.3.36, CPU, no flash
# attention: "CPU compute buffer size" for 2-layer GGUFs with each model's real shapes.
MEASURED_COMPUTE_MIB = [
    ((256, 8, 8, 512, 1000), 512, 12.51),
    ((256, 8, 8, 512, 1000), 8192, 147.51),
    ((2048, 32, 4, 5632, 32000), 2048, 153.01),  # TinyLlama
    ((2048, 32, 4, 5632, 32000), 8192, 549.01),
    ((896, 14, 2, 4864, 151936), 512, 300.25),  # Qwen2.5-0.5B: the logits dominate
    ((896, 14, 2, 4864, 151936), 32768, 969.26),
    ((3072, 32, 32, 8192, 32064), 512, 79.01),  # Phi-3 mini
    ((3072, 32, 32, 8192, 32064), 4096, 306.01),
    ((4096, 32, 8, 14336, 32000), 1024, 122.01),  # Mistral 7B: the feed-forward dominates
    ((4096, 32, 8, 14336, 32000), 32768, 2156.01),
    ((1024, 8, 8, 16384, 1000), 512, 107.01),
]


def test_gemma2_kv_matches_llama_cpp(tmp_path: Path) -> None:
    """llama-cpp-python 0.3.36 (swa_full=False) on a 2-layer GGUF with Gemma 2 2B's shapes:
    "KV buffer size" 16.00 MiB at 2048 and 50.00 MiB at 8192 (the sliding layer keeps 4608)."""
    gemma = RealModel("gemma2", "gemma2", 2, 2304, 8, 4, 9216, 256000, 8192, sliding_window=4096)
    shape = fit.model_shape(
        write_gguf(
            tmp_path / "g.gguf",
            gemma,
            extra={"attention.key_length": 256, "attention.value_length": 256},
        )
    )
    assert fit.estimate(shape, 2048).kv_bytes == 16 * MIB
    assert fit.estimate(shape, 8192).kv_bytes == 50 * MIB


@pytest.mark.parametrize(("dims", "n_ctx", "measured"), MEASURED_COMPUTE_MIB)
def test_compute_buffer_matches_llama_cpp(
    dims: tuple[int, int, int, int, int], n_ctx: int, measured: float
) -> None:
    ours = fit.estimate(shape_of(*dims), n_ctx).compute_bytes / MIB
    assert -0.01 <= (ours - measured) / measured <= 0.08, ours


def test_compute_buffer_grows_with_the_vocabulary(tmp_path: Path) -> None:
    """At a short context Qwen's 151,936-token logits dominate (4 x 512 x vocab bytes)."""
    shape = fit.model_shape(write_gguf(tmp_path / "q.gguf", QWEN))
    assert fit.estimate(shape, 512).compute_bytes >= 4 * 512 * QWEN.n_vocab


# -- verdicts -----------------------------------------------------------------------------------


def synthetic(layer_mib: int = 100, layers: int = 32) -> fit.ModelShape:
    return fit.ModelShape(
        source="gguf",
        architecture="llama",
        n_layer=layers,
        n_embd=4096,
        n_head=32,
        n_head_kv=8,
        key_length=128,
        value_length=128,
        n_ff=14336,
        n_vocab=32000,
        n_ctx_train=4096,
        weights_bytes=layers * layer_mib * MIB + 250 * MIB,
        layer_bytes=[layer_mib * MIB] * layers,
        output_bytes=125 * MIB,
        input_bytes=125 * MIB,
    )


def test_fits_on_a_big_gpu() -> None:
    est = fit.estimate(synthetic(), 4096)
    verdict = fit.verdict(est, 24 * GIB, 64 * GIB)
    assert verdict.kind == "gpu"
    assert verdict.layers_on_gpu == verdict.layers_total == 33
    assert verdict.message.startswith("fits on the GPU: needs ")


def test_partial_offload_counts_layers() -> None:
    est = fit.estimate(synthetic(), 4096)
    per_layer = 100 * MIB + est.kv_bytes // 32
    budget = est.compute_bytes + 10 * per_layer + per_layer // 2
    verdict = fit.verdict(est, budget, 64 * GIB)
    assert verdict.kind == "partial"
    assert verdict.layers_on_gpu == 10
    assert "fits with 10 of 33 layers offloaded" in verdict.message


def test_cpu_only_pool() -> None:
    verdict = fit.verdict(fit.estimate(synthetic(), 4096), None, 64 * GIB)
    assert verdict.kind == "cpu"
    assert "no GPU" in verdict.message


def test_does_not_fit_anywhere() -> None:
    verdict = fit.verdict(fit.estimate(synthetic(), 4096), 100 * MIB, 1 * GIB)
    assert verdict.kind == "none"
    assert verdict.message.startswith("does not fit: needs ")


def test_unknown_kv_type_and_bad_context() -> None:
    with pytest.raises(fit.FitError, match="unknown KV cache type"):
        fit.estimate(synthetic(), 4096, "q5_1")
    with pytest.raises(fit.FitError, match="at least 1 token"):
        fit.estimate(synthetic(), 0)


def test_gguf_without_the_keys_is_refused(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    path = tmp_path / "bare.gguf"
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(fit.FitError, match=r"no llama\.block_count"):
        fit.model_shape(path)


# -- rbee-hive models fit -----------------------------------------------------------------------


def hive(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RBEE_HIVE, "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    write_gguf(tmp_path / ".test-models" / "mistral" / "mistral.gguf", MISTRAL)
    registered = hive(
        tmp_path,
        "models",
        "register",
        "mistral",
        "--name",
        "Mistral",
        "--architecture",
        "llama",
        "--format",
        "gguf",
        "--downloaded",
        "-q",
    )
    assert registered.returncode == 0, registered.stderr
    later = hive(
        tmp_path, "models", "register", "later", "--name", "Not here", "--arch", "llama", "-q"
    )
    assert later.returncode == 0, later.stderr
    return tmp_path


def test_models_fit_json(pool: Path) -> None:
    done = hive(pool, "models", "fit", "mistral", "--ctx", "4096", "--kv-type", "q8_0", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["estimate"]["kv_bytes"] == 256 * MIB * 34 // 32  # q8_0: 34 bytes per 32
    assert document["estimate"]["n_ctx"] == 4096
    assert document["verdict"]["kind"] in ("gpu", "partial", "cpu", "none")
    assert document["shape"]["n_layer"] == 32


def test_models_fit_text(pool: Path) -> None:
    done = hive(pool, "models", "fit", "mistral")
    assert done.returncode == 0, done.stderr
    assert "context   32768 tokens, KV cache f16" in done.stdout
    assert "KV cache  4.00 GiB" in done.stdout
    assert "verdict   " in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope"], 1, "error: model 'nope' is not in the catalog"),
        (["later"], 1, "is not downloaded"),
        (["mistral", "--ctx", "0"], 2, "must be at least 1 token"),
        (["mistral", "--kv-type", "q5"], 2, "invalid choice"),
    ],
)
def test_models_fit_bad_input_is_one_line(
    pool: Path, args: list[str], code: int, message: str
) -> None:
    done = hive(pool, "models", "fit", *args)
    assert done.returncode == code
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_does_not_fit_without_a_gpu_says_no_gpu() -> None:
    verdict = fit.verdict(fit.estimate(synthetic(), 4096), None, 1 * GIB)
    assert verdict.kind == "none"
    assert ", no GPU, RAM " in verdict.message
    assert "GPU ?" not in verdict.message


def test_a_context_beyond_the_trained_one_is_warned_about(pool: Path) -> None:
    """mistral is trained for 32768 tokens: --ctx 1000000 is estimated, with a warning on
    stderr and in the JSON; on a pool without a GPU the lines say "no GPU", never "GPU ?"."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no nvidia-smi, rocm-smi...: no GPU

    def fit_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RBEE_HIVE, "--root", str(pool), "models", "fit", "mistral", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    done = fit_cli("--ctx", "1000000")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: a context of 1000000 tokens is beyond the model's trained context of 32768 "
        "tokens: llama.cpp runs it, but answers degrade past the trained length (unless RoPE "
        "scaling extends it)"
    ]
    if sys.platform == "linux":
        assert "GPU       no GPU (CPU only)" in done.stdout
        assert "GPU ?" not in done.stdout
    document = json.loads(fit_cli("--ctx", "1000000", "--json").stdout)
    assert document["warnings"] == [done.stderr.splitlines()[0].removeprefix("warning: ")]
    within = fit_cli("--ctx", "32768", "--json")
    assert (within.stderr, json.loads(within.stdout)["warnings"]) == ("", [])
