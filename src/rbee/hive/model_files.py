"""What `rbee-hive` shows of model files (inspect, scan).

The reading is `rbee.modelfiles`; this module only turns its results into lines. Filling an
entry in from its files is the library's: `rbee.workflows.files.fill_from_files`.
"""

from __future__ import annotations

import os

from rbee.cli.style import Styler, printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rbee.hive.context import Hive
    from rbee.modelfiles import ModelInfo, ScanResult


def resolve_on_pool(hive: Hive, path: str) -> str:
    """A path the user gave, relative to the pool's root (the current directory by default)."""
    return path if os.path.isabs(path) else os.path.join(hive.root, path)


def format_count(count: int | None) -> str:
    if count is None:
        return "-"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= scale:
            return f"{count / scale:.2f}{suffix} ({count:,})"
    return f"{count:,}"


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(printable(str(v)) for v in value)
    return printable(str(value))


def _quoted(value: Any) -> str:
    """A value in quotes, escaped once (`repr` on top of `printable` would double backslashes)."""
    return f"'{_value(value)}'"


def info_lines(info: ModelInfo, style: Styler) -> list[str]:
    """`models inspect` as a person reads it, like `ollama show`."""
    downloaded = style("yes", "green") if info.downloaded else style("no", "red")
    rows = [
        ("path", printable(info.path)),
        ("format", info.format),
        ("architecture", _value(info.architecture)),
        ("name", _value(info.name)),
        ("parameters", format_count(info.parameters)),
        ("context length", _value(info.context_length)),
        ("vocab size", _value(info.vocab_size)),
        ("quantization", _value(info.quantization)),
        ("size", f"{info.size_bytes / 1e9:.2f} GB ({info.size_bytes:,} bytes)"),
        ("downloaded", downloaded),
    ]
    if not info.has_weights and not info.missing and not info.partial:
        rows.append(("weights", style("none (no tensors: a vocabulary-only file)", "red")))
    if info.backends is not None:
        rows.append(("backends", ", ".join(info.backends) + " only"))
    if info.missing:
        rows.append(("missing", style(_value(info.missing), "red")))
    if info.partial:
        rows.append(("partial", style(_value(info.partial), "yellow")))
    lines = [f"  {style(label.ljust(15), 'bold')}{value}" for label, value in rows]
    lines.append(f"  {style('files'.ljust(15), 'bold')}{len(info.files)}")
    lines.extend(f"    {printable(name)}" for name in info.files)
    return lines


def scan_lines(result: ScanResult, style: Styler) -> list[str]:
    """One model's scan: a heading, each change, each disagreement, the problem if any."""
    status = style("changed", "green") if result.changes else "unchanged"
    lines = [f"{style(printable(result.model_id), 'bold')}: {status}"]
    if result.problem:
        lines.append(f"  {style('!', 'red')} {printable(result.problem)}")
    for change in result.changes:
        lines.append(f"  {change.field}: {_value(change.old)} -> {_value(change.new)}")
    for disagreement in result.disagreements:
        lines.append(
            f"  {style('?', 'yellow')} {disagreement.field}: registered "
            f"{_quoted(disagreement.registered)}, the files say "
            f"{_quoted(disagreement.on_disk)} (left as registered; "
            "'rbee-hive models update' changes it)"
        )
    return lines
