"""`rbee-hive pool info` (the pool's hardware) and `pool report` (plumbing for `llorch fleet`)."""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
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
        lines.append("gpu       no GPU (CPU only)")
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
    from rbee.workflows.fit import models_folder

    info = pool_info(hive.pool_id, models_folder(hive.catalog_path))
    if args.json:
        hive.out.json(info.to_dict())
    else:
        hive.out.lines(info_lines(info))
    return 0


def run_report(args: argparse.Namespace, hive: Hive) -> int:
    """Catalog, free disk (and hardware, and a fit verdict) in one JSON document."""
    from rbee.workflows.fit import pool_report

    document = pool_report(
        hive.catalog_path,
        hive.root,
        hive.pool_id,
        hardware=bool(args.hardware),
        fit_id=args.fit,
        n_ctx=args.ctx,
        kv_type=args.kv_type,
    )
    hive.out.json(document)
    return 0
