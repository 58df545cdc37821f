"""The Hugging Face cache, read as `huggingface_hub` lays it out (without importing it).

    <cache>/models--ORG--NAME/
        blobs/<etag>                       the content; an LFS file's etag is its sha256
        refs/main                          the commit a revision points at
        snapshots/<commit>/<path>          -> ../../blobs/<etag> (a symlink per file)

The cache is `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`), else `HF_HOME/hub`, else
`$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`: `huggingface_hub`'s own
order. Each snapshot is a model (or, in a repo of GGUF quantizations, each GGUF in it is one);
the repo comes from the folder's name and the revision from the ref naming the snapshot.
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

TOOL = "Hugging Face cache"
WHERE = (
    "looked at $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, "
    "~/.cache/huggingface/hub"
)
REPO_FOLDER_PREFIX = "models--"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def cache_path(environ: Mapping[str, str]) -> str:
    """Where `huggingface_hub` would put its cache with this environment."""

    def expand(value: str) -> str:
        return os.path.expandvars(os.path.expanduser(value))

    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if environ.get(variable):
            return expand(environ[variable])
    if environ.get("HF_HOME"):
        return os.path.join(expand(environ["HF_HOME"]), "hub")
    cache_home = environ.get("XDG_CACHE_HOME") or os.path.join(home(environ), ".cache")
    return os.path.join(expand(cache_home), "huggingface", "hub")


def locate(environ: Mapping[str, str]) -> str | None:
    """The cache folder, or None when there is none."""
    path = cache_path(environ)
    return path if os.path.isdir(path) else None


def source(location: str) -> Source:
    return Source("hf", location, f"the {TOOL} {location}", lambda: scan(location))


def is_cache(directory: str) -> bool:
    """Whether `directory` looks like a hub cache (it holds `models--*` repo folders)."""
    try:
        with os.scandir(directory) as entries:
            return any(e.name.startswith(REPO_FOLDER_PREFIX) and e.is_dir() for e in entries)
    except OSError:
        return False


def is_repo_folder(directory: str) -> bool:
    """Whether `directory` is one repo of a hub cache (`models--ORG--NAME` with snapshots/)."""
    name = os.path.basename(os.path.normpath(directory))
    return name.startswith(REPO_FOLDER_PREFIX) and os.path.isdir(
        os.path.join(directory, "snapshots")
    )


def repo_id(folder_name: str) -> str:
    """`models--Qwen--Qwen2.5-0.5B` -> `Qwen/Qwen2.5-0.5B` (huggingface_hub's own rule)."""
    return folder_name.removeprefix(REPO_FOLDER_PREFIX).replace("--", "/")


def scan(cache: str) -> StoreScan:
    """Every model in the cache's model repos (datasets and spaces are not models)."""
    found = StoreScan()
    try:
        with os.scandir(cache) as entries:
            folders = sorted(
                e.path for e in entries if e.name.startswith(REPO_FOLDER_PREFIX) and e.is_dir()
            )
    except OSError as exc:
        found.problems.append(StoreProblem(cache, f"cannot read: {exc.strerror or exc}"))
        return found
    for folder in folders:
        found.extend(scan_repo(folder))
    return found


def refs_by_commit(folder: str) -> dict[str, list[str]]:
    """commit -> the revisions (refs) naming it, e.g. {'a1b2...': ['main']}."""
    refs_dir = os.path.join(folder, "refs")
    named: dict[str, list[str]] = {}
    for current, _dirs, names in os.walk(refs_dir):
        for name in names:
            path = os.path.join(current, name)
            try:
                with open(path, "rb") as ref:
                    commit = ref.read(256).decode("ascii").strip()
            except (OSError, UnicodeDecodeError):
                continue
            revision = os.path.relpath(path, refs_dir).replace(os.sep, "/")
            named.setdefault(commit, []).append(revision)
    for revisions in named.values():
        revisions.sort(key=lambda r: (r != "main", r))
    return named


def scan_repo(folder: str) -> StoreScan:
    """The models in one repo folder: each snapshot, those named by a ref first (main first)."""
    found = StoreScan()
    repo = repo_id(os.path.basename(os.path.normpath(folder)))
    snapshots_dir = os.path.join(folder, "snapshots")
    try:
        snapshots = sorted(
            e.name for e in os.scandir(snapshots_dir) if e.is_dir() and not e.name.startswith(".")
        )
    except OSError:
        return found
    refs = refs_by_commit(folder)
    snapshots.sort(key=lambda c: (0 if "main" in refs.get(c, ()) else 1 if c in refs else 2, c))
    repo_name = repo.rsplit("/", 1)[-1]
    valid_repo = repo if _REPO.fullmatch(repo) else None
    for commit in snapshots:
        snapshot = os.path.join(snapshots_dir, commit)
        revisions = refs.get(commit, [])
        revision = revisions[0] if revisions else commit
        units, problems = find_units(snapshot)
        found.problems.extend(problems)
        for unit in units:
            src: dict[str, object] = {"type": "hf-cache"}
            if valid_repo:
                src["repo"] = valid_repo
            else:
                src["name"] = repo
            src["revision"] = revision
            if _COMMIT.fullmatch(commit):
                src["commit"] = commit
            shown = f"{repo}@{revision}" if revision == commit else f"{repo} ({revision})"
            if unit.gguf_name:
                hint = id_hint_for_gguf(unit.gguf_name, repo_name)
                shown += f" {os.path.relpath(unit.path, snapshot)}"
            else:
                hint = repo_name
            found.candidates.append(
                Candidate(
                    path=unit.path,
                    is_dir=unit.is_dir,
                    files=unit.files,
                    main_files=unit.main_files,
                    source=src,
                    description=f"Hugging Face cache: {shown}",
                    id_hint=hint,
                    name_hint=repo_name,
                    repo=valid_repo,
                    named_sha256=named_digests(
                        unit.path if unit.is_dir else os.path.dirname(unit.path), unit.files
                    ),
                )
            )
    return found


def named_digests(directory: str, files: list[str]) -> dict[str, str]:
    """The sha256 of each file whose blob is named by it (LFS files; others are git sha1s)."""
    digests: dict[str, str] = {}
    for rel in files:
        blob = os.path.basename(os.path.realpath(os.path.join(directory, rel)))
        if _SHA256.fullmatch(blob):
            digests[rel] = blob
    return digests
