"""What every store reader shares: candidates, problems, and finding the models in a folder."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rbee.workflows.errors import WorkflowError

STORE_WORDS = ("hf", "ollama", "lmstudio")
WEIGHT_SUFFIXES = (".gguf", ".safetensors", ".safetensors.index.json")
PARTIAL_SUFFIXES = (".incomplete", ".part", ".partial", ".download", ".crdownload", ".aria2")
MAX_DEPTH = 4
"""How deep a folder of model folders is searched (LM Studio's tree is two levels)."""
SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$")
GENERIC_STEMS = frozenset({"model", "ggml-model", "weights", "consolidated", "gguf"})
"""GGUF file names that say nothing about the model: the folder names it instead."""
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")
"""The kernel's folders: never a source, never walked into (reading them can hang or loop)."""


def system_folder(path: str) -> str | None:
    """The kernel folder (`/proc`, `/sys`, `/dev`) that `path` (by real path) is or is in."""
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return None
    for folder in SYSTEM_FOLDERS:
        if real == folder or real.startswith(folder + "/"):
            return folder
    return None


class UnknownSourceError(WorkflowError):
    """A SOURCE is neither a store's name nor a path that exists."""


class StoreNotFoundError(WorkflowError):
    """A store was asked for by name, and this machine has none."""


@dataclass
class StoreProblem:
    """Something found that cannot be adopted, and why (`where` is a path or a store's name)."""

    where: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "problem": self.message}


@dataclass
class Candidate:
    """One model a store holds, before its headers are read.

    `path` is absolute: a GGUF file (the first part of a split one) or a safetensors folder;
    `files` are the model's files relative to its directory (`path` itself when a folder, else
    the folder holding it), as the catalog record lists them; `main_files` are the absolute paths
    of its weights (a model already in the catalog is recognised by their real paths).
    """

    path: str
    is_dir: bool
    files: list[str]
    main_files: list[str]
    source: dict[str, Any]
    description: str
    id_hint: str
    name_hint: str
    repo: str | None = None
    named_sha256: dict[str, str] = field(default_factory=dict)
    """Digests the store's own names give, by relative path (blob names)."""
    hints: dict[str, Any] = field(default_factory=dict)
    """What the store says about the model besides its files (Ollama's config: family, ...)."""

    @property
    def directory(self) -> str:
        return self.path if self.is_dir else os.path.dirname(self.path)


@dataclass
class StoreScan:
    """What scanning one source found."""

    candidates: list[Candidate] = field(default_factory=list)
    problems: list[StoreProblem] = field(default_factory=list)

    def extend(self, other: StoreScan) -> None:
        self.candidates.extend(other.candidates)
        self.problems.extend(other.problems)


@dataclass
class Source:
    """A source resolved to a location: `kind` is hf, ollama, lmstudio or path."""

    kind: str
    location: str
    label: str
    scan: Callable[[], StoreScan]

    def to_dict(self) -> dict[str, str]:
        return {"source": self.kind, "location": self.location}


def home(environ: Mapping[str, str]) -> str:
    """The user's home folder as the tools see it (`$HOME`, else the password database)."""
    value = environ.get("HOME")
    return value if value else os.path.expanduser("~")


def resolve_sources(
    sources: list[str] | None,
    models_folder: str | None,
    environ: Mapping[str, str] | None = None,
) -> list[Source]:
    """The sources to scan, in order, each located the way its own tool finds it.

    `sources`: store words (`hf`, `ollama`, `lmstudio`) and paths. None or empty: the pool's
    `models_folder` (if it exists) and every store this machine has. A named store that is not
    there, or a path that does not exist, raises before anything is read.
    """
    from rbee.stores import folders, hf, lmstudio, ollama

    env = os.environ if environ is None else environ
    locators = {"hf": hf, "ollama": ollama, "lmstudio": lmstudio}
    resolved: list[Source] = []
    if not sources:
        if models_folder is not None and os.path.isdir(models_folder):
            resolved.append(folders.source(models_folder))
        for word in STORE_WORDS:
            module = locators[word]
            location = module.locate(env)
            if location is not None:
                resolved.append(module.source(location))
        return _unique(resolved)
    for given in sources:
        if given in locators:
            module = locators[given]
            location = module.locate(env)
            if location is None:
                raise StoreNotFoundError(f"no {module.TOOL} on this machine: {module.WHERE}")
            resolved.append(module.source(location))
            continue
        path = os.path.abspath(os.path.expanduser(given))
        if not os.path.exists(path):
            raise UnknownSourceError(
                f"{given}: no such file or folder (a SOURCE is hf, ollama, lmstudio or a path)"
            )
        resolved.append(folders.source(path))
    return _unique(resolved)


def _unique(sources: list[Source]) -> list[Source]:
    seen: set[tuple[str, str]] = set()
    kept: list[Source] = []
    for source in sources:
        key = (source.kind, os.path.realpath(source.location))
        if key not in seen:
            seen.add(key)
            kept.append(source)
    return kept


# -- the models in one folder ----------------------------------------------------------------


def is_partial(name: str) -> bool:
    return name.endswith(PARTIAL_SUFFIXES)


def gguf_stem(name: str) -> str:
    """A GGUF's name without `.gguf` and without a split suffix (`-00001-of-00003`)."""
    match = SPLIT.match(name)
    return match["stem"] if match else name.removesuffix(".gguf")


def id_hint_for_gguf(name: str, folder_hint: str) -> str:
    """What a GGUF model's id is made from: its file name, unless that name is generic."""
    stem = gguf_stem(name)
    lowered = stem.lower()
    if lowered in GENERIC_STEMS:
        return folder_hint
    if lowered.startswith("ggml-model-"):
        return f"{folder_hint}-{stem[len('ggml-model-') :]}"
    return stem


def split_parts(path: str) -> list[str]:
    """Every part of a split GGUF (absolute paths), or just `path` when it is not split."""
    name = os.path.basename(path)
    match = SPLIT.match(name)
    if match is None or int(match["count"]) < 1:
        return [path]
    folder = os.path.dirname(path)
    count = int(match["count"])
    return [
        os.path.join(folder, f"{match['stem']}-{n:05d}-of-{count:05d}.gguf")
        for n in range(1, count + 1)
    ]


def is_projector(path: str) -> bool:
    """Whether a GGUF is a multimodal projector (llama.cpp's mmproj), not a language model.

    Decided by its header (`general.type` mmproj, or architecture clip); a file whose header
    cannot be read is judged by its name. Raises nothing.
    """
    from rbee.modelfiles import gguf
    from rbee.modelfiles.errors import ModelFileError

    try:
        header = gguf.read_header(path)
    except (ModelFileError, OSError):
        return "mmproj" in os.path.basename(path).lower()
    return header.metadata.get("general.type") == "mmproj" or header.architecture == "clip"


@dataclass
class Unit:
    """A model found in a folder, before a store dresses it as a `Candidate`."""

    path: str
    is_dir: bool
    files: list[str]
    main_files: list[str]
    gguf_name: str | None = None


def walk_files(directory: str) -> Iterator[tuple[str, bool]]:
    """(path, is a broken symlink) for every file below `directory`, hidden folders skipped."""
    # Symlinked folders are not followed (a loop would never end), as `inspect_path` does not;
    # nor are the kernel's folders entered (`/` given as a folder).
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and os.path.join(current, d) not in SYSTEM_FOLDERS
        )
        for name in sorted(names):
            path = os.path.join(current, name)
            if os.path.isfile(path):
                yield path, False
            elif os.path.islink(path):
                yield path, True


def _broken_link_problem(path: str) -> StoreProblem:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return StoreProblem(path, f"broken symlink: its target {target} is missing; not adopted")


def find_units(
    directory: str, depth: int = MAX_DEPTH, _seen: set[str] | None = None
) -> tuple[list[Unit], list[StoreProblem]]:
    """The models in `directory`: a folder holding safetensors is one model; each GGUF model
    (its parts, plus the folder's projectors) is one; sub-folders are searched `depth` deep.

    A symlinked sub-folder is not entered (`/proc/self/root` is `/`; a link back up would loop),
    nor are `/proc`, `/sys` and `/dev`; symlinked files are read (a Hugging Face snapshot is
    made of them). `directory` itself may be a symlink."""
    seen = set() if _seen is None else _seen
    real = os.path.realpath(directory)
    if real in seen:
        return [], []
    seen.add(real)
    units: list[Unit] = []
    problems: list[StoreProblem] = []
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        return [], [StoreProblem(directory, f"cannot read: {exc.strerror or exc}")]
    files: list[str] = []
    broken: list[str] = []
    subdirs: list[str] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if system_folder(entry.path) is None:
                    subdirs.append(entry.path)
            elif entry.is_dir():
                continue  # a symlinked folder: not followed
            elif entry.is_file():
                files.append(entry.path)
            elif entry.is_symlink():
                broken.append(entry.path)
        except OSError:
            continue
    names = [os.path.basename(f) for f in files]
    if any(n.endswith((".safetensors", ".safetensors.index.json")) for n in names):
        return _safetensors_unit(directory)
    broken_names = {os.path.basename(b) for b in broken}
    problems.extend(
        _broken_link_problem(b) for b in broken if b.endswith((*WEIGHT_SUFFIXES, ".json"))
    )
    ggufs = [f for f in files if f.endswith(".gguf")]
    if ggufs:
        projectors = [f for f in ggufs if is_projector(f)]
        language = [f for f in ggufs if f not in projectors]
        groups: dict[str, list[str]] = {}
        for path in language:
            parts = split_parts(path)
            groups.setdefault(parts[0], parts)
        for first, parts in groups.items():
            missing = [p for p in parts if not os.path.isfile(p)]
            if missing:
                names_missing = ", ".join(os.path.basename(p) for p in missing[:3])
                why = (
                    "is a broken symlink"
                    if any(os.path.basename(p) in broken_names for p in missing)
                    else "is missing"
                )
                problems.append(StoreProblem(first, f"part {names_missing} {why}; not adopted"))
                continue
            partial = [
                p + suffix
                for p in parts
                for suffix in PARTIAL_SUFFIXES
                if os.path.exists(p + suffix)
            ]
            if partial:
                problems.append(
                    StoreProblem(
                        first, f"a download is not finished ({os.path.basename(partial[0])})"
                    )
                )
                continue
            own = [os.path.basename(p) for p in parts + projectors]
            units.append(
                Unit(
                    path=first,
                    is_dir=False,
                    files=sorted(dict.fromkeys(own)),
                    main_files=parts,
                    gguf_name=os.path.basename(first),
                )
            )
    if depth > 0:
        for sub in subdirs:
            more, trouble = find_units(sub, depth - 1, seen)
            units.extend(more)
            problems.extend(trouble)
    return units, problems


def _safetensors_unit(directory: str) -> tuple[list[Unit], list[StoreProblem]]:
    files: list[str] = []
    mains: list[str] = []
    for path, broken in walk_files(directory):
        if broken:
            # A file of the model whose content is gone: the model is not whole.
            return [], [_broken_link_problem(path)]
        rel = os.path.relpath(path, directory).replace(os.sep, "/")
        files.append(rel)
        if path.endswith(".safetensors"):
            mains.append(path)
    return [Unit(path=directory, is_dir=True, files=files, main_files=mains)], []
