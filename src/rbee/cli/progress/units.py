"""The figures progress shows: byte counts with a decimal unit, durations as m:ss."""

from __future__ import annotations


def format_bytes(n_bytes: float) -> str:
    """`n_bytes` with a decimal unit: 512 B, 3.4 kB, 12.0 MB, 1.23 GB."""
    if n_bytes < 1000:
        return f"{int(n_bytes)} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n_bytes /= 1000
        if n_bytes < 1000 or unit == "TB":
            return f"{n_bytes:.2f} {unit}" if unit in ("GB", "TB") else f"{n_bytes:.1f} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """`seconds` as `m:ss`, or `h:mm:ss` from an hour on."""
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
