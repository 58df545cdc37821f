"""`rbee-hive models fit ID`: the memory llama.cpp needs for a model, against this pool.

Calls `rbee.workflows.fit.fit_model` and renders its document.
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any


def render(document: dict[str, Any]) -> list[str]:
    from rbee.cli.style import printable
    from rbee.fit import gib

    model = document["model"]
    shape = document["shape"]
    est = document["estimate"]
    verdict = document["verdict"]
    pool = document["pool"]
    budget = pool["gpu_budget_bytes"]
    gpu = "no GPU (CPU only)" if budget is None else f"{gib(budget)} ({pool['budget_source']})"
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
    from rbee.workflows.fit import fit_model

    document = fit_model(
        hive.catalog_path, hive.root, hive.pool_id, args.id, n_ctx=args.ctx, kv_type=args.kv_type
    )
    for warning in document.get("warnings", []):
        hive.out.stderr.write(hive.out.err_style("warning: ", "yellow") + warning + "\n")
    hive.out.stderr.flush()
    if args.json:
        hive.out.json(document)
    else:
        hive.out.lines(render(document))
    return 0
