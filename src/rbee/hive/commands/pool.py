"""`rbee-hive pool info` (the pool's hardware) and `pool report` (plumbing for `llorch fleet`)."""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rbee.hardware import PoolInfo


def _gib(n_bytes: int | None) -> str:
    from rbee.fit import gib

    return gib(n_bytes)


def info_lines(info: PoolInfo) -> list[str]:
    """`pool info` as text: one fact per line."""
    from rbee.cli.style import printable

    ram = _gib(info.ram_total_bytes)
    if info.ram_available_bytes is not None:
        ram += f" ({_gib(info.ram_available_bytes)} available)"
    lines = [
        f"pool      {printable(info.pool_id)}",
        f"rbee      {info.version}",
        f"os        {printable(info.os)} ({printable(info.machine)})",
        f"cpu       {printable(info.cpu or '?')}, {info.cpu_cores} cores",
        f"ram       {ram}",
    ]
    if not info.gpus:
        lines.append("gpu       none (CPU only)")
    for gpu in info.gpus:
        memory = f"{_gib(gpu.total_bytes)} total, {_gib(gpu.free_bytes)} free"
        if gpu.unified:
            memory += ", unified with the RAM"
        lines.append(f"gpu {gpu.index}     {printable(gpu.name)}: {memory} ({gpu.source})")
    if info.gpu_budget_bytes is not None:
        lines.append(
            f"budget    {_gib(info.gpu_budget_bytes)} for a model on the GPU "
            f"({info.budget_source}); backend {info.backend}"
        )
    if info.disk is not None:
        lines.append(
            f"disk      {_gib(info.disk.free_bytes)} free of {_gib(info.disk.total_bytes)} "
            f"at {printable(info.disk.path)}"
        )
    for tool in info.tools:
        if tool.status != "ok":
            detail = f": {printable(tool.detail)}" if tool.detail else ""
            lines.append(f"tool      {tool.tool} {tool.status}{detail}")
    return lines


def run_info(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.hardware import pool_info
    from rbee.hive.commands.fit import models_dir

    info = pool_info(hive.pool_id, models_dir(hive))
    if args.json:
        hive.out.json(info.to_dict())
    else:
        hive.out.lines(info_lines(info))
    return 0


def run_report(args: argparse.Namespace, hive: Hive) -> int:
    """Catalog, free disk (and hardware, and a fit verdict) in one JSON document."""
    import os

    from rbee import __version__
    from rbee.catalog import CatalogNotFoundError, load_catalog
    from rbee.catalog.errors import CatalogError
    from rbee.hive.commands.fit import fit_document, models_dir
    from rbee.workflows.disk import free_space

    where = models_dir(hive)
    document: dict[str, Any] = {
        "version": __version__,
        "pool_id": hive.pool_id,
        "catalog_path": os.path.abspath(hive.catalog_path),
        "catalog_exists": True,
        "models_dir": where,
    }
    catalog = None
    try:
        catalog = load_catalog(hive.catalog_path, track_changes=False)
    except CatalogNotFoundError:
        document["catalog_exists"] = False
    if catalog is not None:
        document["pool_id"] = catalog.pool_id
        document["models"] = [entry.to_dict() for entry in catalog.models]
    else:
        document["models"] = []
    measured, free = free_space(where)
    document["free_bytes"] = free
    document["free_at"] = measured
    info = None
    if args.hardware or args.fit:
        from rbee.hardware import pool_info

        info = pool_info(hive.pool_id, where)
        document["hardware"] = info.to_dict()
    if args.fit:
        try:
            if catalog is None:
                raise CatalogError(f"no catalog at {hive.catalog_path}")
            document["fit"] = fit_document(
                hive, args.fit, args.ctx, args.kv_type, catalog=catalog, info=info
            )
        except CatalogError as exc:
            document["fit"] = {"error": str(exc)}
    hive.out.json(document)
    return 0
