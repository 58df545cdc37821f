"""Model file headers: our GGUF reader against llama.cpp's gguf.GGUFReader, and header-only reads.

1. A GGUF with a 150,000-entry token array (plus scores and types), read once by each reader in
   the same run, with the same answers asserted. Target: ours >= 100x faster.
2. `inspect_path` on a 20 GB sparse GGUF (header written, the rest a hole) against the same
   header in a 1 MB file. Target: <= 1.5x, i.e. the cost does not grow with the weights.
3. The worst a hostile GGUF costs before it is refused, per file (reported, no target): sparse
   files built to spend the per-file budgets, i.e. string arrays each under the per-array limit
   adding up past the budget of elements walked, and strings a read chunk long each, so that
   walking them would read more than the budget of bytes.
4. `rbee-hive models inspect` on llama.cpp's Qwen2 vocabulary GGUF (`ggml-vocab-qwen2.gguf`:
   its keys, 151,936 tokens with their types and 151,387 merges, no tensors), measured as a
   whole process (interpreter start-up, imports, reading, printing; median of 11), against
   `gguf.GGUFReader` in this process on the same file, side by side. Target: >= 100x.
"""

from __future__ import annotations

import statistics
import struct
import tempfile
import time
from pathlib import Path

TOKENS = 150_000
SPEEDUP_TARGET = 100.0
SPARSE_RATIO_TARGET = 1.5
SPARSE_SIZE = 20 * 10**9
SMALL_SIZE = 10**6


def _write_gguf(path: Path, tokens: int) -> Path:
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("Bench Llama")
    writer.add_context_length(4096)
    writer.add_file_type(15)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"token-{i}" for i in range(tokens)])
    writer.add_token_scores([float(i) for i in range(tokens)])
    writer.add_token_types([1] * tokens)
    writer.add_tensor("token_embd.weight", np.zeros((256, 64), dtype=np.float32))
    writer.add_tensor("output.weight", np.zeros((256, 64), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _against_reference(directory: Path) -> bool:
    import gguf

    from rbee.modelfiles import gguf as our_gguf

    path = _write_gguf(directory / "vocab.gguf", TOKENS)
    started = time.perf_counter()
    ours = our_gguf.read_header(path)
    our_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theirs = gguf.GGUFReader(path)
    their_seconds = time.perf_counter() - started

    assert ours.architecture == theirs.fields["general.architecture"].contents() == "llama"
    assert ours.context_length == theirs.fields["llama.context_length"].contents() == 4096
    assert ours.vocab_size == len(theirs.fields["tokenizer.ggml.tokens"].data) == TOKENS
    assert ours.file_type == theirs.fields["general.file_type"].contents() == 15
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    assert ours.parameters == sum(t.n_elements for t in theirs.tensors)

    speedup = their_seconds / our_seconds
    size_mb = path.stat().st_size / 1e6
    print(f"GGUF with {TOKENS:,} tokens ({size_mb:.1f} MB), one read each:")
    print(f"  rbee.modelfiles.gguf  {our_seconds * 1000:9.1f} ms")
    print(f"  gguf.GGUFReader       {their_seconds * 1000:9.1f} ms")
    met = speedup >= SPEEDUP_TARGET
    print(
        f"  speed-up {speedup:.0f}x (target >= {SPEEDUP_TARGET:.0f}x) {'ok' if met else 'MISSED'}"
    )
    return met


def _median_inspect(path: Path, runs: int) -> float:
    from rbee.modelfiles import inspect_path

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        info = inspect_path(path)
        timings.append(time.perf_counter() - started)
        assert info.downloaded
        assert info.size_bytes == path.stat().st_size
    return statistics.median(timings)


def _header_only(directory: Path) -> bool:
    source = _write_gguf(directory / "header.gguf", 5_000).read_bytes()
    assert len(source) < SMALL_SIZE
    small = directory / "small" / "model.gguf"
    sparse = directory / "sparse" / "model.gguf"
    for path, size in ((small, SMALL_SIZE), (sparse, SPARSE_SIZE)):
        path.parent.mkdir()
        with path.open("wb") as stream:
            stream.write(source)
            stream.truncate(size)
    _median_inspect(small, 5)  # warm the page cache and imports
    _median_inspect(sparse, 5)
    small_seconds = _median_inspect(small, 41)
    sparse_seconds = _median_inspect(sparse, 41)
    ratio = sparse_seconds / small_seconds
    print("inspect_path, same header, median of 41:")
    print(f"  1 MB file             {small_seconds * 1000:9.2f} ms")
    print(f"  20 GB sparse file     {sparse_seconds * 1000:9.2f} ms")
    met = ratio <= SPARSE_RATIO_TARGET
    print(f"  ratio {ratio:.2f}x (target <= {SPARSE_RATIO_TARGET}x) {'ok' if met else 'MISSED'}")
    return met


def _many_arrays(path: Path) -> Path:
    from rbee.modelfiles import gguf as our_gguf

    count = our_gguf.MAX_STRING_ARRAY_LENGTH
    arrays = our_gguf.MAX_WALKED_ELEMENTS // count + 1
    with path.open("wb") as stream:
        stream.write(b"GGUF" + struct.pack("<IQQ", 3, 0, arrays))
        for index in range(arrays):
            key = b"k%d" % index
            stream.write(struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, 8, count))
            stream.seek(8 * count, 1)  # `count` empty strings: zeros, left a hole
        stream.truncate(stream.tell())
    return path


def _chunk_long_strings(path: Path) -> Path:
    from rbee.modelfiles import gguf as our_gguf

    length = 1 << 16
    count = our_gguf.MAX_WALKED_BYTES // length + 1
    header = b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1) + b"k" + struct.pack("<IIQ", 9, 8, count)
    with path.open("wb") as stream:
        stream.write(header)
        for index in range(count):
            stream.seek(len(header) + index * (8 + length))
            stream.write(struct.pack("<Q", length))
        stream.truncate(len(header) + count * (8 + length))
    return path


def _hostile(directory: Path) -> bool:
    from rbee.modelfiles import ModelFileError
    from rbee.modelfiles import gguf as our_gguf

    print("Hostile GGUFs, refused by the per-file budgets (one read each):")
    for label, path in (
        ("arrays adding up past 2^22 strings", _many_arrays(directory / "many.gguf")),
        ("strings forcing > 256 MiB of reads", _chunk_long_strings(directory / "long.gguf")),
    ):
        started = time.perf_counter()
        try:
            our_gguf.read_header(path)
        except ModelFileError:
            pass
        else:
            raise AssertionError(f"{path} was not refused")
        seconds = time.perf_counter() - started
        print(f"  {label:36} {seconds * 1000:9.1f} ms")
    return True


QWEN2_TOKENS = 151_936
QWEN2_MERGES = 151_387
PROCESS_SPEEDUP_TARGET = 100.0


def write_qwen2_vocab(path: Path) -> Path:
    """A file like llama.cpp's `models/ggml-vocab-qwen2.gguf`: the same keys, in the same
    order, and arrays of the same sizes (byte-level BPE-like tokens of 1 to 16 bytes)."""
    import random

    import gguf

    rng = random.Random(2)
    alphabet = "abcdefghijklmnopqrstuvwxyzĠĊ0123456789"
    tokens = [
        "".join(rng.choices(alphabet, k=rng.randint(1, 12))) + str(index)
        for index in range(QWEN2_TOKENS)
    ]
    merges = [
        f"{tokens[rng.randrange(QWEN2_TOKENS)][:6]} {tokens[rng.randrange(QWEN2_TOKENS)][:6]}"
        for _ in range(QWEN2_MERGES)
    ]
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_name("qwen2")
    writer.add_block_count(24)
    writer.add_context_length(32768)
    writer.add_embedding_length(896)
    writer.add_feed_forward_length(4864)
    writer.add_head_count(14)
    writer.add_head_count_kv(2)
    writer.add_rope_freq_base(1000000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(1)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([1] * QWEN2_TOKENS)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(151645)
    writer.add_pad_token_id(151643)
    writer.add_bos_token_id(151643)
    writer.add_chat_template(
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>\\n'}}{% endfor %}"
    )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _whole_process(directory: Path) -> bool:
    import json
    import subprocess
    import sys

    import gguf

    path = write_qwen2_vocab(directory / "ggml-vocab-qwen2.gguf")
    hive = str(Path(sys.executable).parent / "rbee-hive")

    def inspect_process(*options: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        result = subprocess.run(
            [hive, "models", "inspect", str(path), *options],
            capture_output=True,
            check=True,
            timeout=60,
        )
        return time.perf_counter() - started, result.stdout

    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    shown = json.loads(inspect_process("--json")[1])  # also warms the page cache
    # The command as a user types it (text output); the JSON run above gave the answers.
    cpu_before = children_cpu()
    process_runs = [inspect_process()[0] for _ in range(11)]
    process_cpu = (children_cpu() - cpu_before) / len(process_runs)
    process_seconds = statistics.median(process_runs)
    started = time.perf_counter()
    cpu_started = time.process_time()
    theirs = gguf.GGUFReader(path)
    their_seconds = time.perf_counter() - started
    their_cpu = time.process_time() - cpu_started

    assert shown["architecture"] == theirs.fields["general.architecture"].contents() == "qwen2"
    assert shown["vocab_size"] == len(theirs.fields["tokenizer.ggml.tokens"].data) == QWEN2_TOKENS
    assert len(theirs.fields["tokenizer.ggml.merges"].data) == QWEN2_MERGES
    assert shown["context_length"] == theirs.fields["qwen2.context_length"].contents()
    assert shown["has_weights"] is False
    assert len(theirs.tensors) == 0

    speedup = their_seconds / process_seconds
    size_mb = path.stat().st_size / 1e6
    print(
        f"Qwen2 vocabulary GGUF ({QWEN2_TOKENS:,} tokens, {QWEN2_MERGES:,} merges, "
        f"{size_mb:.1f} MB):"
    )
    print(
        f"  rbee-hive models inspect, whole process {process_seconds * 1000:9.1f} ms (median of 11)"
    )
    print(f"  gguf.GGUFReader in-process             {their_seconds * 1000:9.1f} ms")
    # CPU time says the same where other work competes for the cores (wall time then favours
    # the one long call over eleven short processes that each wait to be scheduled).
    print(
        f"  CPU time: {process_cpu * 1000:.1f} ms a process (mean, fastest wall "
        f"{min(process_runs) * 1000:.1f} ms) vs {their_cpu * 1000:.0f} ms: "
        f"{their_cpu / process_cpu:.0f}x"
    )
    met = speedup >= PROCESS_SPEEDUP_TARGET
    print(
        f"  speed-up {speedup:.0f}x (target >= {PROCESS_SPEEDUP_TARGET:.0f}x) "
        f"{'ok' if met else 'MISSED'}"
    )
    return met


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rbee-bench-modelfiles-") as name:
        directory = Path(name)
        results = [
            _against_reference(directory),
            _header_only(directory),
            _hostile(directory),
            _whole_process(directory),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
