"""Plain paths: a folder of model folders (the pool's `.test-models/`), a model's folder, a file.

A folder holding safetensors is one model (its folder); each GGUF model in a folder is one model
(its file, with the split parts and the folder's projectors); other folders are searched below,
a few levels deep, hidden ones skipped. A path that is another tool's store (a Hugging Face cache
or one of its `models--*` repos, an Ollama models folder) is read as that store.
"""

from __future__ import annotations

import os

from rbee.stores import hf, ollama
from rbee.stores.common import (
    Candidate,
    Source,
    StoreProblem,
    StoreScan,
    UnknownSourceError,
    find_units,
    gguf_stem,
    id_hint_for_gguf,
    is_projector,
    split_parts,
    system_folder,
)

NOT_A_SOURCE = "neither a .gguf nor a .safetensors file, nor a folder"


def source(path: str) -> Source:
    """A path as a source: a folder, or a `.gguf` or `.safetensors` file; anything else (another
    file, a device, a socket) and anything in `/proc`, `/sys` or `/dev` is an
    `UnknownSourceError`, raised before anything is read."""
    if os.path.isdir(path):
        kernel = system_folder(path)
        if kernel is not None:
            raise UnknownSourceError(
                f"{path}: in {kernel}, the kernel's folder, not a model folder: not read"
            )
    elif not os.path.isfile(path):
        raise UnknownSourceError(f"{path}: not a regular file: {NOT_A_SOURCE}")
    elif not path.endswith((".gguf", ".safetensors")) or system_folder(path) is not None:
        raise UnknownSourceError(f"{path}: {NOT_A_SOURCE}")
    repo_folder = _hf_repo_holding(path)
    if repo_folder is not None:
        # Inside a cache's snapshot: still the cache's model (its repo, revision, blob names).
        return Source("hf", path, f"the {hf.TOOL} {path}", lambda: _within(repo_folder, path))
    if os.path.isdir(path):
        if hf.is_cache(path) or hf.is_repo_folder(path):
            return Source("hf", path, f"the {hf.TOOL} {path}", lambda: _scan_hf(path))
        if ollama.is_store(path):
            return ollama.source(path)
    return Source("path", path, f"folder {path}", lambda: scan(path))


def _hf_repo_holding(path: str) -> str | None:
    """The `models--ORG--NAME` folder when `path` is in (or is) one of its snapshots."""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == "snapshots" and parts[i - 1].startswith(hf.REPO_FOLDER_PREFIX):
            return os.sep.join(parts[:i])
    return None


def _within(repo_folder: str, path: str) -> StoreScan:
    """The repo's models at or below `path` (a snapshot, a folder in it, or one GGUF)."""
    found = hf.scan_repo(repo_folder)
    target = split_parts(path)[0] if path.endswith(".gguf") else path

    def inside(where: str) -> bool:
        return where == target or where.startswith(target.rstrip(os.sep) + os.sep)

    found.candidates = [c for c in found.candidates if inside(c.path)]
    found.problems = [p for p in found.problems if inside(p.where)]
    return found


def _scan_hf(path: str) -> StoreScan:
    return hf.scan_repo(path) if hf.is_repo_folder(path) else hf.scan(path)


def scan(path: str) -> StoreScan:
    found = StoreScan()
    if os.path.isfile(path):
        if path.endswith(".gguf"):
            return _one_gguf(path)
        units, problems = find_units(os.path.dirname(path), depth=0)
        units = [u for u in units if u.is_dir]
    else:
        units, problems = find_units(path)
    found.problems.extend(problems)
    for unit in units:
        folder = unit.path if unit.is_dir else os.path.dirname(unit.path)
        folder_name = os.path.basename(os.path.normpath(folder))
        found.candidates.append(
            Candidate(
                path=unit.path,
                is_dir=unit.is_dir,
                files=unit.files,
                main_files=unit.main_files,
                source={"type": "local"},
                description=f"folder {unit.path}",
                id_hint=(
                    id_hint_for_gguf(unit.gguf_name, folder_name) if unit.gguf_name else folder_name
                ),
                name_hint=gguf_stem(unit.gguf_name) if unit.gguf_name else folder_name,
            )
        )
    return found


def _one_gguf(path: str) -> StoreScan:
    """One GGUF file named by the user: its model (the first part, if split) and projectors."""
    found = StoreScan()
    folder = os.path.dirname(path)
    if is_projector(path):
        found.problems.append(
            StoreProblem(path, "is a multimodal projector (mmproj), not a model; not adopted")
        )
        return found
    units, problems = find_units(folder, depth=0)
    first = split_parts(path)[0]
    mine = [u for u in units if u.path == first]
    found.problems.extend(p for p in problems if p.where == first)
    for unit in mine:
        folder_name = os.path.basename(os.path.normpath(folder))
        found.candidates.append(
            Candidate(
                path=unit.path,
                is_dir=False,
                files=unit.files,
                main_files=unit.main_files,
                source={"type": "local"},
                description=f"file {unit.path}",
                id_hint=id_hint_for_gguf(unit.gguf_name or "", folder_name),
                name_hint=gguf_stem(unit.gguf_name or os.path.basename(path)),
            )
        )
    return found
