"""Reading model files' own headers (GGUF, safetensors, config.json), never their weights.

`inspect_path` says what a model file or directory holds; `scan_entry` compares a catalog entry
with its files and proposes changes, reporting disagreements about the user-owned fields.
Nothing here knows about terminals or the command line.
"""

from __future__ import annotations

from rbee.modelfiles.errors import ModelFileError, NoModelFilesError
from rbee.modelfiles.inspect import (
    Change,
    Disagreement,
    ModelInfo,
    ScanResult,
    apply_scan,
    inspect_path,
    revealed_metadata,
    scan_entry,
)

__all__ = [
    "Change",
    "Disagreement",
    "ModelFileError",
    "ModelInfo",
    "NoModelFilesError",
    "ScanResult",
    "apply_scan",
    "inspect_path",
    "revealed_metadata",
    "scan_entry",
]
