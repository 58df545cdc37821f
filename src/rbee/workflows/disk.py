"""Free space where files are about to be written, and the `GB` figures messages show."""

from __future__ import annotations

import os
import shutil

from rbee.workflows.errors import NotEnoughSpaceError

DEFAULT_MARGIN = 100_000_000
"""Space left over after a transfer (100 MB): a full disk breaks more than our own write."""


def format_gb(n_bytes: int) -> str:
    """Bytes as GB with one decimal (1 GB = 1e9 bytes, the catalog's `size_gb` rule)."""
    return f"{n_bytes / 1e9:.1f} GB"


def existing_parent(path: str) -> str:
    """`path` itself, or its nearest ancestor that exists (the folder a write would land in)."""
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def free_space(path: str) -> tuple[str, int]:
    """(the nearest existing folder of `path`, the bytes free to unprivileged users there)."""
    where = existing_parent(path)
    return where, shutil.disk_usage(where).free


def check_free_space(path: str, needed: int, margin: int = DEFAULT_MARGIN) -> int:
    """Raise `NotEnoughSpaceError` unless `needed + margin` bytes are free at `path`.

    Returns the free bytes. Nothing needed (0 bytes) always passes.
    """
    where, free = free_space(path)
    if needed > 0 and free < needed + margin:
        raise NotEnoughSpaceError(needed, free, where)
    return free
