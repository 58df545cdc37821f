"""What a model's files hold (`inspect_path`) and how a catalog entry differs (`scan_entry`).

A model is either GGUF (one file, or the parts of a split `-00001-of-0000N.gguf`) or safetensors
(one or more `.safetensors` files, or the shards of a `model.safetensors.index.json`, with a
`config.json` beside them). It is downloaded when every weight file it needs is present and its
header parses; partial files (`.incomplete`, `.part`, ...) mean a download is still under way.
"""

from __future__ import annotations

import os
import re

from rbee.modelfiles import gguf, hfconfig, safetensors
from rbee.modelfiles.errors import ModelFileError, NoModelFilesError
from rbee.modelfiles.records import FrozenRecord, Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from rbee.catalog.model import ModelEntry

PARTIAL_SUFFIXES = (".incomplete", ".part", ".partial", ".download", ".crdownload", ".aria2")
MAX_FILES = 100_000
"""A model directory with more files than this is not a model directory."""
_CLEAN_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,63}")
# Always `fullmatch`ed: with `match`, `$` also matches before a trailing newline ("F16\n").
# Quantized Hugging Face checkpoints whose kernels exist only for CUDA.
_CUDA_ONLY_METHODS = (
    "gptq",
    "awq",
    "bitsandbytes",
    "fp8",
    "exl2",
    "marlin",
    "compressed-tensors",
    "aqlm",
    "hqq",
)


class ModelInfo(Record):
    """What the files of one model say about it. Values the files do not reveal are None.

    - `downloaded`: every file the model needs is present, whole, and holds weights.
    - `has_weights`: the files hold at least one tensor (a vocabulary-only GGUF, like
      llama.cpp's `ggml-vocab-*.gguf`, holds none: it is not a model that can be run).
    - `backends`: the only backends that can run these files, or None when every backend can.
    """

    _fields = (
        "path",
        "format",
        "architecture",
        "name",
        "context_length",
        "vocab_size",
        "quantization",
        "parameters",
        "size_bytes",
        "files",
        "downloaded",
        "has_weights",
        "missing",
        "partial",
        "backends",
    )

    def __init__(
        self,
        path: str,
        format: str,
        *,
        architecture: str | None = None,
        name: str | None = None,
        context_length: int | None = None,
        vocab_size: int | None = None,
        quantization: str | None = None,
        parameters: int | None = None,
        size_bytes: int = 0,
        files: list[str] | None = None,
        downloaded: bool = False,
        has_weights: bool = False,
        missing: list[str] | None = None,
        partial: list[str] | None = None,
        backends: list[str] | None = None,
    ) -> None:
        self.path = path
        self.format = format
        self.architecture = architecture
        self.name = name
        self.context_length = context_length
        self.vocab_size = vocab_size
        self.quantization = quantization
        self.parameters = parameters
        self.size_bytes = size_bytes
        self.files: list[str] = [] if files is None else files
        self.downloaded = downloaded
        self.has_weights = has_weights
        self.missing: list[str] = [] if missing is None else missing
        self.partial: list[str] = [] if partial is None else partial
        self.backends = backends

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "architecture": self.architecture,
            "name": self.name,
            "context_length": self.context_length,
            "vocab_size": self.vocab_size,
            "quantization": self.quantization,
            "parameters": self.parameters,
            "size_bytes": self.size_bytes,
            "size_gb": size_gb(self.size_bytes),
            "downloaded": self.downloaded,
            "has_weights": self.has_weights,
            "files": list(self.files),
            "missing": list(self.missing),
            "partial": list(self.partial),
            "backends": None if self.backends is None else list(self.backends),
        }


def size_gb(size_bytes: int) -> float:
    return round(size_bytes / 1e9, 9)


def is_partial(name: str) -> bool:
    return name.endswith(PARTIAL_SUFFIXES)


def _clean(path: str) -> str:
    """`path` without empty and `.` parts, as `pathlib` writes it (`./a//b/` is `a/b`)."""
    root = "/" if path.startswith("/") else ""
    return root + "/".join(part for part in path.split("/") if part not in ("", ".")) or "."


def _name(path: str) -> str:
    return os.path.basename(path)


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError as exc:
        raise ModelFileError(path, f"cannot read: {exc.strerror or exc}") from exc


def _list_files(directory: str) -> list[str]:
    """Every regular file under `directory` (following the symlinks a Hugging Face cache uses)."""
    found: list[str] = []
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            candidate = os.path.join(current, name)
            if os.path.isfile(candidate):
                found.append(candidate)
                if len(found) > MAX_FILES:
                    raise ModelFileError(
                        directory, f"holds more than {MAX_FILES} files; not a model directory"
                    )
    return found


def _relative(paths: list[str], base: str) -> list[str]:
    return [os.path.relpath(p, base) for p in paths]


def inspect_path(path: str | os.PathLike[str]) -> ModelInfo:
    """Read the headers of the model at `path` (a weight file or a model directory).

    Raises `NoModelFilesError` when there is nothing there, `ModelFileError` when a file is
    broken or the directory holds several GGUF models.
    """
    # Paths are strings here: `pathlib` would cost `rbee-hive models inspect` (a command measured
    # as a whole process) a few milliseconds of start-up.
    target = _clean(os.fspath(path))
    try:
        return _inspect(target)
    except ModelFileError:
        raise
    except OSError as exc:
        # A permission or I/O problem anywhere below `target`, named with the file at fault.
        raise ModelFileError(exc.filename or target, f"cannot read: {exc.strerror or exc}") from exc


def _inspect(target: str) -> ModelInfo:
    if not os.path.exists(target):
        raise NoModelFilesError(target, "does not exist")
    if os.path.isdir(target):
        return _inspect_directory(_hf_cache_snapshot(target) or target)
    name = _name(target)
    if is_partial(name):
        info = ModelInfo(path=target, format=_format_of(name), partial=[name])
        info.size_bytes = _file_size(target)
        info.files = [name]
        return info
    info = _inspect_file(target, name)
    info.path = target  # the file asked about, not the folder holding it
    return info


def _inspect_file(target: str, name: str) -> ModelInfo:
    folder = os.path.dirname(target) or "."
    if name.endswith(".gguf"):
        return _inspect_gguf(target, folder)
    if name.endswith(".safetensors.index.json"):
        return _inspect_safetensors(folder, [], target, folder)
    if name.endswith(".safetensors"):
        return _inspect_safetensors(folder, [target], None, folder)
    if name == "config.json":
        return _inspect_directory(folder)
    if _has_gguf_magic(target):
        # A GGUF under a name without the extension: Ollama's blobs (`sha256-<hex>`).
        return _inspect_gguf(target, folder)
    raise ModelFileError(target, "is neither a .gguf nor a .safetensors file")


def _has_gguf_magic(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(gguf.MAGIC)) == gguf.MAGIC
    except OSError:
        return False


def _hf_cache_snapshot(directory: str) -> str | None:
    """In a Hugging Face cache repo (`hub/models--owner--name/`), the snapshot `refs/main` names.

    Such a directory holds each file twice (the content in `blobs/`, a link to it under every
    `snapshots/<revision>/`); the model is one snapshot, else size and parameters would double.
    """
    snapshots = os.path.join(directory, "snapshots")
    if not (os.path.isdir(snapshots) and os.path.isdir(os.path.join(directory, "blobs"))):
        return None
    try:
        with open(os.path.join(directory, "refs", "main"), "rb") as ref:
            revision = ref.read(256).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        revision = ""
    if revision.isalnum() and os.path.isdir(os.path.join(snapshots, revision)):
        return os.path.join(snapshots, revision)
    # No usable ref: the snapshot fetched last.
    fetched = [
        os.path.join(snapshots, s)
        for s in os.listdir(snapshots)
        if not s.startswith(".") and os.path.isdir(os.path.join(snapshots, s))
    ]
    return max(fetched, key=lambda s: os.stat(s).st_mtime_ns) if fetched else None


def _format_of(name: str) -> str:
    return "gguf" if ".gguf" in name else "safetensors"


def _inspect_directory(directory: str) -> ModelInfo:
    files = _list_files(directory)
    partials = [f for f in files if is_partial(_name(f))]
    ggufs = [f for f in files if f.endswith(".gguf")]
    indexes = [f for f in files if f.endswith(".safetensors.index.json")]
    tensors = [f for f in files if f.endswith(".safetensors")]
    if indexes or tensors:
        preferred = [i for i in indexes if _name(i) == safetensors.INDEX_NAME]
        index = (preferred or indexes)[0] if indexes else None
        info = _inspect_safetensors(directory, tensors if index is None else [], index, directory)
    elif ggufs:
        groups: dict[str, str] = {}
        for file in ggufs:
            match = gguf.SPLIT_PATTERN.match(_name(file))
            key = os.path.join(os.path.dirname(file), match["stem"]) if match else file
            groups.setdefault(key, file)
        if len(groups) > 1:
            # A vision model's GGUF comes with its image projector (`mmproj-*.gguf`): one model.
            language = [p for p in groups.values() if not _is_projector(p)]
            if len(language) == 1:
                groups = {"model": language[0]}
        if len(groups) > 1:
            names = ", ".join(sorted(os.path.relpath(p, directory) for p in groups.values())[:5])
            raise ModelFileError(
                directory,
                f"holds {len(groups)} GGUF models ({names}); inspect one of the files",
            )
        info = _inspect_gguf(next(iter(groups.values())), directory)
    elif partials and _format_of(_name(partials[0])) == "safetensors":
        # The weights are still arriving, but a config.json already says what they will be.
        info = _inspect_safetensors(directory, [], None, directory)
    elif partials:
        info = ModelInfo(path=directory, format=_format_of(_name(partials[0])))
    else:
        raise NoModelFilesError(directory, "holds no .gguf or .safetensors files")
    info.path = directory
    # A directory's size is all of the model's files: weights, config, tokenizer, partials.
    info.files = _relative(files, directory)
    info.size_bytes = sum(_file_size(f) for f in files)
    info.partial = _relative(partials, directory)
    if partials:
        info.downloaded = False
    return info


def _is_projector(path: str) -> bool:
    """Whether a GGUF is a multimodal projector (llama.cpp's mmproj), not a language model."""
    header = gguf.read_header(path)
    return header.metadata.get("general.type") == "mmproj" or header.architecture == "clip"


def _inspect_gguf(first: str, base: str) -> ModelInfo:
    parts = gguf.split_part_names(first) or [first]
    present = [p for p in parts if os.path.isfile(p)]
    info = ModelInfo(path=first, format="gguf")
    info.missing = _relative([p for p in parts if not os.path.isfile(p)], base)
    headers = [gguf.read_header(p) for p in present]
    main = next((h for h in headers if h.architecture), headers[0] if headers else None)
    if main is not None:
        # A token the catalog accepts, or nothing (the key prefix itself may be any string).
        info.architecture = hfconfig.architecture_token(main.architecture, None)
        info.name = main.name
        info.context_length = main.context_length
        info.vocab_size = main.vocab_size
        info.quantization = main.quantization
    if not info.missing and headers:
        count = sum(h.parameters for h in headers)
        info.parameters = count if count > 0 else None
    info.has_weights = any(h.tensors for h in headers)
    info.downloaded = not info.missing and info.has_weights
    info.files = _relative(present, base)
    info.size_bytes = sum(h.file_size for h in headers)
    # A part being re-downloaded next to the old copy: not finished yet.
    if any(os.path.exists(p + suffix) for p in parts for suffix in PARTIAL_SUFFIXES):
        info.downloaded = False
    return info


def _inspect_safetensors(
    directory: str, files: list[str], index: str | None, base: str
) -> ModelInfo:
    info = ModelInfo(path=directory, format="safetensors")
    if index is not None:
        files = safetensors.shard_files(index)
    present = [f for f in files if os.path.isfile(f)]
    info.missing = _relative([f for f in files if not os.path.isfile(f)], base)
    headers = [safetensors.read_header(f) for f in present]
    by_dtype: dict[str, int] = {}
    for header in headers:
        for kind, count in header.parameters_by_dtype.items():
            by_dtype[kind] = by_dtype.get(kind, 0) + count
    if not info.missing and headers:
        total = sum(h.parameters for h in headers)
        info.parameters = total if total > 0 else None
    dtype = max(by_dtype.items(), key=lambda kv: (kv[1], kv[0]))[0] if by_dtype else None
    config_path = os.path.join(directory, "config.json")
    config = hfconfig.read_config(config_path) if os.path.isfile(config_path) else None
    if config is not None:
        info.architecture = config.architecture
        info.context_length = config.context_length
        info.vocab_size = config.vocab_size
        info.quantization = config.quantization
        dtype = dtype or config.dtype
        method = (config.quantization or "").split("-")[0]
        if method in _CUDA_ONLY_METHODS:
            info.backends = ["cuda"]
        elif method == "q":
            info.backends = ["metal"]
    info.quantization = info.quantization or dtype
    info.has_weights = any(h.tensor_count for h in headers)
    info.downloaded = bool(files) and not info.missing and info.has_weights
    extra = [index] if index is not None else []
    extra += [config_path] if config is not None else []
    info.files = _relative(present + extra, base)
    info.size_bytes = sum(_file_size(f) for f in present + extra)
    return info


# -- comparing a catalog entry with its files -----------------------------------------------


class Change(FrozenRecord):
    """A field scan proposes to update: `field` is `downloaded` or `metadata.vocab_size` etc."""

    _fields = ("field", "old", "new")

    def __init__(self, field: str, old: Any, new: Any) -> None:
        self.field = field
        self.old = old
        self.new = new


class Disagreement(FrozenRecord):
    """A user-owned field (`architecture`, `backends`) the files contradict."""

    _fields = ("field", "registered", "on_disk")

    def __init__(self, field: str, registered: Any, on_disk: Any) -> None:
        self.field = field
        self.registered = registered
        self.on_disk = on_disk


class ScanResult(Record):
    """One entry compared with its files; `problem` says why the files could not be read
    (gone, broken, partial), if they could not."""

    _fields = ("model_id", "path", "changes", "disagreements", "problem", "info")

    def __init__(
        self,
        model_id: str,
        path: str,
        *,
        changes: list[Change] | None = None,
        disagreements: list[Disagreement] | None = None,
        problem: str | None = None,
        info: ModelInfo | None = None,
    ) -> None:
        self.model_id = model_id
        self.path = path
        self.changes: list[Change] = [] if changes is None else changes
        self.disagreements: list[Disagreement] = [] if disagreements is None else disagreements
        self.problem = problem
        self.info = info

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.model_id,
            "path": self.path,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
            "disagreements": [
                {"field": d.field, "registered": d.registered, "on_disk": d.on_disk}
                for d in self.disagreements
            ],
            "problem": self.problem,
        }


def model_path(entry: ModelEntry, root: str | os.PathLike[str]) -> Path:
    """Where an entry's files are: its `path` taken relative to the pool root."""
    from pathlib import Path

    return Path(root) / entry.path


def revealed_metadata(info: ModelInfo) -> dict[str, Any]:
    """The catalog metadata the files reveal, only values the catalog accepts."""
    revealed: dict[str, Any] = {}
    for key in ("context_length", "vocab_size", "parameters"):
        value = getattr(info, key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            revealed[key] = value
    if info.quantization and _CLEAN_TOKEN.fullmatch(info.quantization):
        revealed["quantization"] = info.quantization
    return revealed


def scan_entry(entry: ModelEntry, root: str | os.PathLike[str]) -> ScanResult:
    """Compare `entry` with its files under the pool `root`; change nothing."""
    location = model_path(entry, root)
    result = ScanResult(model_id=entry.id, path=str(location))
    try:
        info = inspect_path(location)
    except NoModelFilesError as exc:
        result.problem = f"no model files: {exc}"
        info = None
    except ModelFileError as exc:
        result.problem = str(exc)
        info = None
    result.info = info
    if info is None:
        if entry.downloaded is not False:
            result.changes.append(Change("downloaded", entry.downloaded, False))
        return result
    if info.missing:
        result.problem = f"missing {', '.join(info.missing[:5])}"
    elif info.partial:
        result.problem = f"partial download ({', '.join(info.partial[:5])})"
    elif not info.has_weights:
        result.problem = "holds no weights (no tensors: a vocabulary-only file?)"
    if entry.downloaded != info.downloaded:
        result.changes.append(Change("downloaded", entry.downloaded, info.downloaded))
    # The size of a complete model only: a half-downloaded one says nothing about it.
    if info.downloaded and entry.size_gb != size_gb(info.size_bytes):
        result.changes.append(Change("size_gb", entry.size_gb, size_gb(info.size_bytes)))
    if entry.format != info.format:
        result.changes.append(Change("format", entry.format, info.format))
    metadata = entry.metadata if isinstance(entry.metadata, dict) else {}
    for key, value in revealed_metadata(info).items():
        if metadata.get(key) != value:
            result.changes.append(Change(f"metadata.{key}", metadata.get(key), value))
    result.disagreements = disagreements(entry, info)
    return result


def disagreements(entry: ModelEntry, info: ModelInfo) -> list[Disagreement]:
    """Where the files contradict a user-owned field that matters to running the model.

    The display name is never one: it is the user's, and a GGUF's `general.name` ("Qwen2.5-0.5B-
    Instruct", or whatever a converter wrote) says nothing about whether the entry is right.
    """
    found: list[Disagreement] = []
    if info.architecture and info.architecture != entry.architecture:
        found.append(Disagreement("architecture", entry.architecture, info.architecture))
    if info.backends is not None:
        unsupported = [b for b in entry.backends if b not in info.backends]
        if unsupported:
            found.append(Disagreement("backends", list(entry.backends), list(info.backends)))
    return found


def apply_scan(entry: ModelEntry, result: ScanResult) -> None:
    """Make the changes `result` proposes on `entry` (never its user-owned fields)."""
    for change in result.changes:
        if change.field.startswith("metadata."):
            entry.metadata[change.field.removeprefix("metadata.")] = change.new
        elif change.field in ("downloaded", "size_gb", "format"):
            setattr(entry, change.field, change.new)
        else:  # pragma: no cover - scan_entry proposes only the fields above
            raise ValueError(f"scan never changes {change.field}")
