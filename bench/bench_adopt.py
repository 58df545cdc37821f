"""Adopting a store of 50 models: the time, and the share spent hashing (reported, no target).

Three stores, each of the same 50 GGUF models (written by llama.cpp's `gguf.GGUFWriter`,
`RBEE_BENCH_ADOPT_MB` MB each, default 20), laid out as each tool writes them:

- an Ollama store (`blobs/sha256-<hex>`: every digest is in the blob's name),
- a Hugging Face cache (LFS blobs named by their sha256: likewise),
- an LM Studio tree (plain files: every sha256 must be computed).

Each is adopted into an empty catalog with `rbee.workflows.adopt.adopt_models` (the whole
workflow: scan, headers, hashing, one catalog transaction), then adopted again (nothing to
adopt: the idempotent re-run). The files were just written, so they are in the page cache:
hashing runs at memory speed here, and from a cold disk it is bounded by the disk instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

MODELS = 50
MB = int(os.environ.get("RBEE_BENCH_ADOPT_MB", "20"))
RUNS = 3


def _write_models(folder: Path) -> list[Path]:
    import gguf
    import numpy as np

    paths: list[Path] = []
    weights = np.zeros((MB * 1_000_000 // 4,), dtype=np.float32)
    for i in range(MODELS):
        path = folder / f"bench-model-{i:02d}-q4_k_m.gguf"
        writer = gguf.GGUFWriter(path, "llama")
        writer.add_name(f"Bench Model {i}")
        writer.add_context_length(4096)
        writer.add_file_type(15)
        writer.add_tensor("token_embd.weight", weights)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        paths.append(path)
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _ollama(store: Path, models: list[Path], digests: list[str]) -> None:
    for i, (path, digest) in enumerate(zip(models, digests, strict=True)):
        blob = store / "blobs" / f"sha256-{digest}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, blob)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json"},
            "layers": [
                {
                    "mediaType": "application/vnd.ollama.image.model",
                    "digest": f"sha256:{digest}",
                    "size": path.stat().st_size,
                }
            ],
        }
        target = store / "manifests" / "registry.ollama.ai" / "library" / f"bench{i:02d}" / "q4"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(manifest, separators=(",", ":")) + "\n")


def _hf(hub: Path, models: list[Path], digests: list[str]) -> None:
    for i, (path, digest) in enumerate(zip(models, digests, strict=True)):
        repo = hub / f"models--bench--model-{i:02d}-GGUF"
        (repo / "blobs").mkdir(parents=True)
        snapshot = repo / "snapshots" / ("0" * 40)
        snapshot.mkdir(parents=True)
        os.link(path, repo / "blobs" / digest)
        os.symlink(f"../../blobs/{digest}", snapshot / path.name)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0" * 40)


def _lmstudio(models_dir: Path, models: list[Path]) -> None:
    for i, path in enumerate(models):
        folder = models_dir / "bench" / f"Model-{i:02d}-GGUF"
        folder.mkdir(parents=True)
        os.link(path, folder / path.name)


def _adopt(
    base: Path, source: str, environ: dict[str, str], run: int
) -> tuple[float, float, int, int, float]:
    """(seconds, hashing seconds, hashed bytes, adopted, seconds of the re-run)."""
    from rbee.workflows.adopt import adopt_models

    root = base / f"pool-{source}-{run}"
    root.mkdir()
    catalog = str(root / ".test-models" / "catalog.json")
    started = time.perf_counter()
    report = adopt_models(catalog, str(root), [source], pool_id="bench", environ=environ)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = adopt_models(catalog, str(root), [source], pool_id="bench", environ=environ)
    rerun = time.perf_counter() - started
    if again.adopted or len(again.already) != MODELS or len(report.adopted) != MODELS:
        raise AssertionError(f"{source}: adopted {len(report.adopted)}, then {again}")
    return seconds, report.hash_seconds, report.hashed_bytes, len(report.adopted), rerun


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rbee-bench-adopt-") as tmp:
        base = Path(tmp)
        (base / "files").mkdir()
        models = _write_models(base / "files")
        digests = [_sha256(p) for p in models]
        _ollama(base / "ollama", models, digests)
        _hf(base / "hub", models, digests)
        _lmstudio(base / "lmstudio" / "models", models)
        total = sum(p.stat().st_size for p in models)
        print(
            f"{MODELS} GGUF models of {total / MODELS / 1e6:.0f} MB each "
            f"({total / 1e9:.2f} GB), page cache warm, {os.cpu_count()} cores; "
            f"median of {RUNS} runs"
        )
        home = base / "home"
        home.mkdir()
        (home / ".lmstudio-home-pointer").write_text(str(base / "lmstudio"))
        cases = [
            ("Ollama store (digests in blob names)", "ollama", {"OLLAMA_MODELS": "ollama"}),
            ("Hugging Face cache (LFS blobs named by sha256)", "hf", {"HF_HUB_CACHE": "hub"}),
            ("LM Studio tree (every sha256 computed)", "lmstudio", {}),
        ]
        for label, source, variables in cases:
            environ = {"HOME": str(home), **{k: str(base / v) for k, v in variables.items()}}
            runs = [_adopt(base, source, environ, run) for run in range(RUNS)]
            seconds = statistics.median(r[0] for r in runs)
            hashing = statistics.median(r[1] for r in runs)
            hashed = runs[0][2]
            adopted = runs[0][3]
            rerun = statistics.median(r[4] for r in runs)
            share = hashing / seconds if seconds else 0.0
            rate = f", {hashed / hashing / 1e9:.2f} GB/s" if hashing else ""
            print(
                f"  {label}: adopted {adopted} in {seconds * 1000:.0f} ms; "
                f"hashing {hashing * 1000:.0f} ms = {share:.0%} of it "
                f"({hashed / 1e9:.2f} GB hashed{rate}); re-run (nothing to adopt) "
                f"{rerun * 1000:.0f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
