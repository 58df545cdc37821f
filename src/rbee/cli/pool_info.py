"""A pool's hardware (`rbee.hardware.PoolInfo`) as text: `rbee-hive pool info` prints it on the
pool, `llorch pool info` the same lines for each pool it asked."""

from __future__ import annotations

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
