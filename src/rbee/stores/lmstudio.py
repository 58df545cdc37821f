"""LM Studio's models folder, found as LM Studio finds its home.

The home is the folder named in `~/.lmstudio-home-pointer` (one line, a path), else
`~/.cache/lm-studio` (older releases), else `~/.lmstudio`. Models live exactly two levels below
its `models/` folder: `models/PUBLISHER/MODEL/*.gguf` (MLX models: safetensors folders at the same
place). PUBLISHER/MODEL is usually the Hugging Face repo the files came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from rbee.stores.common import (
    Candidate,
    Source,
    StoreProblem,
    StoreScan,
    find_units,
    home,
    id_hint_for_gguf,
)

TOOL = "LM Studio models folder"
WHERE = "looked at the folder ~/.lmstudio-home-pointer names, ~/.cache/lm-studio, ~/.lmstudio"
POINTER = ".lmstudio-home-pointer"
_REPO = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def home_candidates(environ: Mapping[str, str]) -> list[str]:
    """LM Studio's possible homes, in the order it looks."""
    user = home(environ)
    found: list[str] = []
    try:
        with open(os.path.join(user, POINTER), "rb") as pointer:
            text = pointer.read(4096).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if text:
        found.append(os.path.expanduser(text))
    found.append(os.path.join(user, ".cache", "lm-studio"))
    found.append(os.path.join(user, ".lmstudio"))
    return found


def locate(environ: Mapping[str, str]) -> str | None:
    """The home whose `models/` folder exists, or None."""
    for path in home_candidates(environ):
        if os.path.isdir(os.path.join(path, "models")):
            return path
    return None


def source(location: str) -> Source:
    return Source("lmstudio", location, f"the {TOOL} {location}", lambda: scan(location))


def _subfolders(directory: str) -> list[str]:
    try:
        return sorted(
            e.path for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")
        )
    except OSError:
        return []


def scan(lmstudio_home: str) -> StoreScan:
    """The models at `models/PUBLISHER/MODEL/` of the home."""
    found = StoreScan()
    models = os.path.join(lmstudio_home, "models")
    if not os.path.isdir(models):
        found.problems.append(StoreProblem(models, "is not a folder"))
        return found
    for publisher_dir in _subfolders(models):
        publisher = os.path.basename(publisher_dir)
        for model_dir in _subfolders(publisher_dir):
            model = os.path.basename(model_dir)
            units, problems = find_units(model_dir, depth=0)
            found.problems.extend(problems)
            repo = f"{publisher}/{model}"
            valid_repo = repo if _REPO.fullmatch(repo) else None
            for unit in units:
                src: dict[str, object] = {
                    "type": "lmstudio",
                    "publisher": publisher,
                    "model": model,
                }
                if valid_repo:
                    src["repo"] = valid_repo
                shown = repo + (f" {unit.gguf_name}" if unit.gguf_name else "")
                found.candidates.append(
                    Candidate(
                        path=unit.path,
                        is_dir=unit.is_dir,
                        files=unit.files,
                        main_files=unit.main_files,
                        source=src,
                        description=f"LM Studio: {shown}",
                        id_hint=id_hint_for_gguf(unit.gguf_name, model)
                        if unit.gguf_name
                        else model,
                        name_hint=model,
                        repo=valid_repo,
                    )
                )
    return found
