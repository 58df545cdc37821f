"""Adopt models already on disk: register them in the catalog **in place**.

    from rbee.workflows.adopt import adopt_models

    report = adopt_models(".test-models/catalog.json", ".", ["hf", "ollama"], pool_id="mac")
    for model in report.adopted:
        print(model.id, model.path)

Sources (`rbee.stores`): `hf` (the Hugging Face cache), `ollama`, `lmstudio`, or a path (a folder
of model folders, one model's folder or file). None: the pool's models folder
(`ROOT/.test-models`) and every store this machine has.

Nothing is copied, moved or linked: each new entry's `path` points at the model where it is,
relative to the pool root when it is below it, else absolute. The rules:

- **Found** the way each tool finds its own models; a broken symlink, a manifest naming a
  missing blob, a missing split part or an unfinished download is reported (`problems`) and
  that model left out; the rest are adopted.
- **Already there**: a model whose weight files (by real path) belong to an entry of the
  catalog (its folder, its file, or its record's files, wherever that entry points) is never
  adopted again; nor is the same file found twice in one run (e.g. two Ollama tags of one blob).
- **Ids** are derived from the model's name the same way every time (`derive_id`): the GGUF
  file's name (`qwen2.5-0.5b-instruct-q4_k_m`), the repo or folder name for safetensors, the
  Ollama model and tag (`llama3.2-3b`; `latest` is left out). Lower case, runs of other
  characters become `-`, at most 64 characters. An id already taken, ignoring case, gets `-2`,
  `-3`, ... (`unique_id`).
- **Fields** from the headers (`rbee.modelfiles`): name (else the repo, folder or Ollama name),
  format, architecture (else Ollama's model family, else `unknown`), context length, vocab size,
  quantization, parameters; `metadata.repo` from the Hugging Face or LM Studio repo;
  `downloaded` true; `size_gb` as `models scan` counts it (so a scan right after changes
  nothing); backends as the files allow, else the default.
- **Record** (catalog format 1.1): every file with its size and sha256. The sha256 is taken
  from the store's own names where it has them (LFS blobs of the Hugging Face cache, Ollama's
  `sha256-<hex>` blobs), else computed, in parallel, outside the catalog's lock.
- **One transaction** at the end: the catalog is read again under the lock, so a model
  registered meanwhile is reported as already there, and ids are chosen against it.
- `dry_run`: everything up to the transaction except the hashing; nothing is written.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rbee.stores.common import Candidate, StoreProblem, walk_files
from rbee.workflows.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rbee.catalog import ModelCatalog, ModelEntry
    from rbee.modelfiles import ModelInfo

MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 256
MAX_ENTRY_FILES = 100_000
"""Files of one entry's folder looked at, at most (`rbee.modelfiles`' limit too)."""
_NOT_ID = re.compile(r"[^a-z0-9._-]+")
_DASHES = re.compile(r"-{2,}")
_ARCHITECTURE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


@dataclass
class AdoptedModel:
    """A model adopted (or, in a dry run, that would be)."""

    id: str
    name: str
    path: str
    """The entry's `path`: relative to the pool root, or absolute when outside it."""
    format: str
    architecture: str
    size_bytes: int
    source: dict[str, Any]
    description: str
    files: int
    hashed_files: int = 0
    """How many of its files were hashed here (the rest were named by the store)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "format": self.format,
            "architecture": self.architecture,
            "size_bytes": self.size_bytes,
            "source": self.source,
            "description": self.description,
            "files": self.files,
            "hashed_files": self.hashed_files,
        }


@dataclass
class AlreadyThere:
    """A model found on disk that the catalog (or this run) already has."""

    path: str
    description: str
    reason: str
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "description": self.description,
            "reason": self.reason,
            "id": self.model_id,
        }


@dataclass
class AdoptReport:
    """What `adopt_models` found and did."""

    catalog_path: str
    dry_run: bool
    sources: list[dict[str, str]] = field(default_factory=list)
    adopted: list[AdoptedModel] = field(default_factory=list)
    already: list[AlreadyThere] = field(default_factory=list)
    problems: list[StoreProblem] = field(default_factory=list)
    hashed_bytes: int = 0
    hash_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def found(self) -> int:
        """Models found on disk (adopted, already there, or with a problem of their own)."""
        return len(self.adopted) + len(self.already)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "catalog": self.catalog_path,
            "sources": list(self.sources),
            "adopted": [m.to_dict() for m in self.adopted],
            "already": [a.to_dict() for a in self.already],
            "problems": [p.to_dict() for p in self.problems],
            "hashed_bytes": self.hashed_bytes,
        }


@dataclass
class _Plan:
    """A candidate whose headers were read: everything of its entry but the id and record."""

    candidate: Candidate
    info: ModelInfo
    path: str
    name: str
    architecture: str
    metadata: dict[str, Any]
    backends: list[str]
    files: list[str]
    sizes: dict[str, int] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    ok: bool = True
    """False once a file could not be read: the model is left out (and reported)."""


# -- ids ------------------------------------------------------------------------------------------


def derive_id(hint: str) -> str:
    """A catalog id from a model's name: `Qwen2.5-0.5B-Instruct-Q4_K_M` ->
    `qwen2.5-0.5b-instruct-q4_k_m`.

    Accents are dropped (é -> e), letters lower-cased, every run of other characters becomes
    one `-`; the id starts with a letter or digit and has at most 64 characters. Nothing usable:
    `model`.
    """
    text = unicodedata.normalize("NFKD", hint).encode("ascii", "ignore").decode("ascii").lower()
    text = _DASHES.sub("-", _NOT_ID.sub("-", text))
    text = text.lstrip("-._")[:MAX_ID_LENGTH].rstrip("-._")
    return text or "model"


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first not in `taken` (lower-cased ids)."""
    if base.lower() not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: MAX_ID_LENGTH - len(suffix)].rstrip("-._") + suffix
        if candidate.lower() not in taken:
            return candidate
        number += 1


# -- the workflow ---------------------------------------------------------------------------------


def adopt_models(
    catalog_path: str,
    root: str,
    sources: list[str] | None = None,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
    *,
    pool_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    workers: int | None = None,
) -> AdoptReport:
    """Register the models on disk that the catalog does not have yet, in place (see the module).

    `pool_id` names the pool when there is no catalog yet (without it, a missing catalog is a
    `CatalogNotFoundError` once there is something to adopt). `environ` (default `os.environ`)
    is where the stores' variables are read. Raises `rbee.workflows.errors.WorkflowError`
    subclasses for a bad source (before anything is read) and `CatalogError`s for the catalog
    (read and validated first: a broken catalog fails before any store is scanned).
    """
    from rbee.catalog import MODELS_DIR, CatalogNotFoundError, load_catalog
    from rbee.stores.common import resolve_sources

    started = time.monotonic()
    report = AdoptReport(catalog_path=catalog_path, dry_run=dry_run)
    # The catalog first: a broken one fails at once, before any store is scanned or hashed.
    try:
        catalog: ModelCatalog | None = load_catalog(catalog_path, track_changes=False)
    except CatalogNotFoundError:
        catalog = None
    resolved = resolve_sources(sources, os.path.join(root, MODELS_DIR), environ)
    report.sources = [s.to_dict() for s in resolved]
    candidates: list[Candidate] = []
    for source in resolved:
        progress.note(f"looking for models in {source.label}")
        found = source.scan()
        candidates.extend(found.candidates)
        report.problems.extend(found.problems)
    known = catalog_real_paths(catalog, root) if catalog is not None else {}
    fresh = _new_candidates(candidates, known, report)
    plans = [plan for plan in (_plan(c, root, report) for c in fresh) if plan is not None]
    taken = {entry.id.lower() for entry in catalog.models} if catalog is not None else set()
    if dry_run:
        for plan in plans:
            model_id = unique_id(derive_id(plan.candidate.id_hint), taken)
            taken.add(model_id.lower())
            report.adopted.append(_adopted(plan, model_id, hashed=0))
        report.seconds = time.monotonic() - started
        return report
    hashed = _hash(plans, report, progress, workers)
    plans = [plan for plan in plans if plan.ok]
    if plans:
        _register(plans, hashed, report, root=root, pool_id=pool_id)
    report.seconds = time.monotonic() - started
    return report


def catalog_real_paths(catalog: ModelCatalog, root: str) -> dict[str, str]:
    """real path -> id, for every file an entry holds: below its folder, its file, its record's."""
    from rbee.catalog.record import entry_directory, resolve_entry_path
    from rbee.stores.common import split_parts

    known: dict[str, str] = {}
    for entry in catalog.models:
        path = resolve_entry_path(entry, root)
        if os.path.isdir(path):
            for count, (file, broken) in enumerate(walk_files(path)):
                if count >= MAX_ENTRY_FILES:  # not a model folder (an entry at the root?)
                    break
                if not broken:
                    known.setdefault(os.path.realpath(file), entry.id)
        elif os.path.isfile(path):
            for part in split_parts(path):
                known.setdefault(os.path.realpath(part), entry.id)
        record = entry.record
        if isinstance(record, dict):
            directory = entry_directory(entry, root)
            for item in record.get("files", ()):
                known.setdefault(os.path.realpath(os.path.join(directory, item["path"])), entry.id)
    return known


def _owned(candidate: Candidate, reals: list[str], known: dict[str, str]) -> AlreadyThere | None:
    """Why `candidate` is not adopted when one of its files (by real path, `reals`) is already
    a catalog entry's, per `known` (`catalog_real_paths`); None when none is."""
    owner = next((known[r] for r in reals if r in known), None)
    if owner is None:
        return None
    return AlreadyThere(
        candidate.path, candidate.description, f"already in the catalog as {owner}", owner
    )


def _new_candidates(
    candidates: list[Candidate], known: dict[str, str], report: AdoptReport
) -> list[Candidate]:
    """The candidates whose weights the catalog does not hold, each set of files once."""
    seen: dict[str, Candidate] = {}
    fresh: list[Candidate] = []
    for candidate in candidates:
        reals = [os.path.realpath(f) for f in candidate.main_files]
        already = _owned(candidate, reals, known)
        if already is not None:
            report.already.append(already)
            continue
        twin = next((seen[r] for r in reals if r in seen), None)
        if twin is not None:
            report.already.append(
                AlreadyThere(
                    candidate.path, candidate.description, f"same files as {twin.description}"
                )
            )
            continue
        for real in reals:
            seen[real] = candidate
        fresh.append(candidate)
    return fresh


def _entry_path(path: str, root: str) -> str:
    """Relative to the pool root when below it, else absolute."""
    root_abs = os.path.abspath(root)
    absolute = os.path.abspath(path)
    try:
        inside = os.path.commonpath([root_abs, absolute]) == root_abs
    except ValueError:
        inside = False
    return os.path.relpath(absolute, root_abs) if inside and absolute != root_abs else absolute


def _clean_name(text: str | None) -> str | None:
    if not text:
        return None
    cleaned = " ".join(_CONTROL.sub(" ", text).split())[:MAX_NAME_LENGTH].strip()
    return cleaned or None


def _plan(candidate: Candidate, root: str, report: AdoptReport) -> _Plan | None:
    """Read the candidate's headers; None (and a problem) when it is broken or incomplete."""
    from rbee.catalog import DEFAULT_BACKENDS, CatalogInvalidError
    from rbee.modelfiles import ModelFileError, inspect_path, revealed_metadata

    where = candidate.path
    try:
        info = inspect_path(candidate.path)
    except ModelFileError as exc:
        report.problems.append(StoreProblem(where, f"{exc}; not adopted"))
        return None
    if info.missing:
        report.problems.append(
            StoreProblem(where, f"missing {', '.join(info.missing[:3])}; not adopted")
        )
        return None
    if not info.partial and getattr(info, "has_weights", True) is False:
        report.problems.append(
            StoreProblem(where, "holds no weights (a vocabulary-only GGUF?); not adopted")
        )
        return None
    if info.partial or not info.downloaded:
        shown = ", ".join(info.partial[:3]) or "incomplete"
        report.problems.append(
            StoreProblem(where, f"a download is not finished ({shown}); not adopted")
        )
        return None
    files = (
        [f.replace(os.sep, "/") for f in info.files] if candidate.is_dir else list(candidate.files)
    )
    hints = candidate.hints
    architecture = (info.architecture or hints.get("model_family") or "").lower()
    if not _ARCHITECTURE.fullmatch(architecture):
        architecture = "unknown"
    metadata = revealed_metadata(info)
    quantization = hints.get("file_type")
    if "quantization" not in metadata and isinstance(quantization, str):
        cleaned = _clean_name(quantization)
        if cleaned and len(cleaned) <= 64:
            metadata["quantization"] = cleaned
    if candidate.repo:
        metadata["repo"] = candidate.repo
    plan = _Plan(
        candidate=candidate,
        info=info,
        path=_entry_path(candidate.path, root),
        name=_clean_name(info.name) or _clean_name(candidate.name_hint) or candidate.id_hint,
        architecture=architecture,
        metadata=metadata,
        backends=list(info.backends or DEFAULT_BACKENDS),
        files=files,
    )
    try:
        # Everything the catalog will check, now (the digests are not known yet): a file name
        # the catalog cannot hold (a control character, a backslash, bytes that are not UTF-8)
        # leaves this model out instead of failing the transaction for all.
        _entry(plan, "pending", dict.fromkeys(files, 0), dict.fromkeys(files, "0" * 64))
    except CatalogInvalidError as exc:
        report.problems.append(StoreProblem(where, f"cannot be registered: {exc}; not adopted"))
        return None
    return plan


def _entry(
    plan: _Plan, model_id: str, sizes: dict[str, int], digests: dict[str, str]
) -> ModelEntry:
    """The catalog entry of a plan (validated on construction)."""
    from rbee.catalog import ModelEntry
    from rbee.catalog.record import FileDigest, make_record
    from rbee.modelfiles.inspect import size_gb

    record = make_record(
        plan.candidate.source,
        [FileDigest(rel, sizes[rel], digests[rel]) for rel in plan.files],
    )
    return ModelEntry(
        id=model_id,
        name=plan.name,
        path=plan.path,
        format=plan.info.format,
        size_gb=size_gb(plan.info.size_bytes),
        architecture=plan.architecture,
        downloaded=True,
        backends=plan.backends,
        metadata=plan.metadata,
        record=record,
    )


def _hash(
    plans: list[_Plan], report: AdoptReport, progress: Progress, workers: int | None
) -> dict[int, int]:
    """Fill each plan's sizes and digests; returns how many files each plan had hashed (by id)."""
    from rbee.hashing import try_hash_files

    wanted: dict[str, list[tuple[_Plan, str]]] = {}
    hashed_count: dict[int, int] = {}
    for plan in plans:
        directory = plan.candidate.directory
        for rel in plan.files:
            absolute = os.path.join(directory, rel)
            try:
                plan.sizes[rel] = os.path.getsize(absolute)
            except OSError as exc:
                report.problems.append(
                    StoreProblem(absolute, f"cannot read: {exc.strerror or exc}; not adopted")
                )
                plan.ok = False
                break
            named = plan.candidate.named_sha256.get(rel)
            if named:
                plan.digests[rel] = named
            else:
                # A file two models share (a folder's projector) is hashed once.
                wanted.setdefault(os.path.realpath(absolute), []).append((plan, rel))
    if not wanted:
        return hashed_count
    total = sum(plan.sizes[users[0][1]] for users in wanted.values() for plan in [users[0][0]])
    names = {
        path: f"{users[0][0].candidate.id_hint}/{users[0][1]}" for path, users in wanted.items()
    }
    progress.begin(f"hash {len(wanted)} file(s) to record", total, len(wanted))
    began = time.monotonic()
    try:
        results = try_hash_files(list(wanted), workers=workers, progress=progress, names=names)
    finally:
        progress.end()
    report.hash_seconds = time.monotonic() - began
    for path, result in results.items():
        if not isinstance(result, OSError):
            report.hashed_bytes += result.size
        for plan, rel in wanted[path]:
            if isinstance(result, OSError):
                if plan.ok:
                    plan.ok = False
                    reason = result.strerror or str(result)
                    report.problems.append(
                        StoreProblem(path, f"cannot read: {reason}; not adopted")
                    )
                continue
            plan.digests[rel] = result.sha256
            plan.sizes[rel] = result.size
            hashed_count[id(plan)] = hashed_count.get(id(plan), 0) + 1
    return hashed_count


def _register(
    plans: list[_Plan],
    hashed: dict[int, int],
    report: AdoptReport,
    *,
    root: str,
    pool_id: str | None,
) -> None:
    """The one transaction: catalog read again under the lock, then every new entry added."""
    from rbee.catalog import edit_catalog

    adopted: list[AdoptedModel] = []
    with edit_catalog(report.catalog_path, create_pool_id=pool_id) as catalog:
        known = catalog_real_paths(catalog, root)
        taken = {entry.id.lower() for entry in catalog.models}
        entries: list[ModelEntry] = []
        for plan in plans:
            candidate = plan.candidate
            # Registered by someone else while we read and hashed?
            already = _owned(candidate, [os.path.realpath(f) for f in candidate.main_files], known)
            if already is not None:
                report.already.append(already)
                continue
            model_id = unique_id(derive_id(candidate.id_hint), taken)
            taken.add(model_id.lower())
            entries.append(_entry(plan, model_id, plan.sizes, plan.digests))
            adopted.append(_adopted(plan, model_id, hashed.get(id(plan), 0)))
        if entries:
            catalog.add_models(entries)
    report.adopted.extend(adopted)


def _adopted(plan: _Plan, model_id: str, hashed: int) -> AdoptedModel:
    return AdoptedModel(
        id=model_id,
        name=plan.name,
        path=plan.path,
        format=plan.info.format,
        architecture=plan.architecture,
        size_bytes=plan.info.size_bytes,
        source=plan.candidate.source,
        description=plan.candidate.description,
        files=len(plan.files),
        hashed_files=hashed,
    )
