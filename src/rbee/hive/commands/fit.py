"""`rbee-hive models fit ID`: the memory llama.cpp needs for a model, against this pool."""

from __future__ import annotations

import argparse
import os

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rbee.catalog import ModelCatalog
    from rbee.hardware import PoolInfo


def models_dir(hive: Hive) -> str:
    """The folder the pool keeps its models in: the catalog's (`.test-models` by default)."""
    return os.path.dirname(os.path.abspath(hive.catalog_path))


def fit_document(
    hive: Hive,
    model_id: str,
    n_ctx: int | None,
    kv_type: str,
    *,
    catalog: ModelCatalog | None = None,
    info: PoolInfo | None = None,
) -> dict[str, Any]:
    """The fit of one catalog model on this pool, as `models fit --json` prints it."""
    from rbee import fit, hardware
    from rbee.catalog import load_catalog
    from rbee.modelfiles.inspect import model_path

    if catalog is None:
        catalog = load_catalog(hive.catalog_path, track_changes=False)
    entry = catalog.get_model(model_id)
    path = model_path(entry, hive.root)
    if not entry.downloaded and not path.exists():
        raise fit.FitError(
            f"model {entry.id!r} is not downloaded ({path} does not exist); "
            f"'rbee-hive models download {entry.id}' first"
        )
    shape = fit.model_shape(path)
    estimate = fit.estimate(shape, n_ctx, kv_type)
    if info is None:
        info = hardware.pool_info(hive.pool_id, models_dir(hive))
    ram = info.ram_available_bytes or info.ram_total_bytes
    verdict = fit.verdict(estimate, info.gpu_budget_bytes, ram)
    return {
        "model": {"id": entry.id, "path": str(path)},
        "shape": shape.to_dict(),
        "estimate": estimate.to_dict(),
        "verdict": verdict.to_dict(),
        "pool": {
            "pool_id": info.pool_id,
            "backend": info.backend,
            "gpu_budget_bytes": info.gpu_budget_bytes,
            "budget_source": info.budget_source,
            "ram_available_bytes": ram,
        },
        "notes": [note for note in (shape.swa_note,) if note],
    }


def render(document: dict[str, Any]) -> list[str]:
    from rbee.cli.style import printable
    from rbee.fit import gib

    model = document["model"]
    shape = document["shape"]
    est = document["estimate"]
    verdict = document["verdict"]
    pool = document["pool"]
    budget = pool["gpu_budget_bytes"]
    gpu = "none (CPU only)" if budget is None else f"{gib(budget)} ({pool['budget_source']})"
    lines = [
        f"model     {printable(str(model['id']))}  ({shape['architecture'] or '?'}, "
        f"{shape['n_layer']} layers, from {shape['source']})",
        f"context   {est['n_ctx']} tokens, KV cache {est['kv_type']}, batch {est['n_ubatch']}",
        f"weights   {gib(est['weights_bytes'])}",
        f"KV cache  {gib(est['kv_bytes'])}",
        f"compute   {gib(est['compute_bytes'])}",
        f"total     {gib(est['total_bytes'])}",
        f"GPU       {gpu}",
        f"verdict   {verdict['message']}",
    ]
    notes = document.get("notes")
    if isinstance(notes, list):
        lines.extend(f"note      {printable(str(note))}" for note in notes)
    return lines


def run(args: argparse.Namespace, hive: Hive) -> int:
    document = fit_document(hive, args.id, args.ctx, args.kv_type)
    if args.json:
        hive.out.json(document)
    else:
        hive.out.lines(render(document))
    return 0
