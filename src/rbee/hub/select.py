"""Which of a repo's files a model takes (the rules of issue 9); no network, no third party.

- GGUF: exactly one quantization. `quant` matches the quantization in file names ignoring case
  (`Q4_K_M` picks `model-q4_k_m.gguf`); the parts of a split GGUF (`-00001-of-00003.gguf`) come
  together; several candidates and no (or an ambiguous) choice is an `AmbiguousQuantError`
  listing the quantizations with their sizes. Projector files (`mmproj*`) are never a choice.
- safetensors: `*.safetensors`, `*.json`, and tokenizer files (`tokenizer.model`, `*.tiktoken`,
  `merges.txt`, `vocab.*`), never the duplicate weight formats (`*.bin`, `*.pt`, `*.pth`,
  `*.onnx`, `*.gguf`, `*.msgpack`, `*.h5`). Names are matched in any folder of the repo.
- `include` globs replace the rule: a glob with a `/` matches the whole path, one without
  matches the file name; case-sensitive, like the shell.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from rbee.hub.errors import AmbiguousQuantError, NoMatchingFilesError
from rbee.hub.listing import RemoteFile

DUPLICATE_WEIGHTS = (".bin", ".pt", ".pth", ".onnx", ".gguf", ".msgpack", ".h5")
SAFETENSORS_PATTERNS = ("*.safetensors", "*.json", "tokenizer.model", "*.tiktoken", "merges.txt")
_SPLIT = re.compile(r"^(?P<base>.*)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
_QUANT = re.compile(
    r"(?:^|[-_.])(?P<quant>(?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|F16|FP16|F32|FP32)(?=[-_.]|$)",
    re.IGNORECASE,
)


class Selection:
    """The files chosen, the rule that chose them, and the format they are in."""

    __slots__ = ("files", "format", "quant", "rule")

    def __init__(
        self, files: list[RemoteFile], rule: str, format: str | None, quant: str | None = None
    ) -> None:
        self.files = files
        self.rule = rule
        self.format = format
        self.quant = quant

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def is_gguf(path: str) -> bool:
    return path.lower().endswith(".gguf")


def is_projector(path: str) -> bool:
    return basename(path).lower().startswith("mmproj")


def quant_of(path: str) -> str | None:
    """The quantization a GGUF file name states (`Q4_K_M`, `IQ3_XS`, `F16`), upper-cased."""
    name = basename(path)
    split = _SPLIT.match(name)
    stem = split.group("base") if split else name[: -len(".gguf")] if is_gguf(name) else name
    found = None
    for match in _QUANT.finditer(stem):
        found = match.group("quant")  # the last one: `llama-3-8b-q4_k_m`, not a `q8` in a name
    return found.upper() if found else None


class GGUFChoice:
    """One GGUF model in a repo: a single file or every part of a split one."""

    __slots__ = ("files", "key", "label")

    def __init__(self, key: str, label: str, files: list[RemoteFile]) -> None:
        self.key = key
        self.label = label
        self.files = files

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def matches(self, quant: str) -> bool:
        wanted = quant.strip().lower()
        if self.label.lower() == wanted:
            return True
        # Also a quantization named in the file name between separators (any case).
        pattern = re.compile(rf"(?:^|[-_./]){re.escape(wanted)}(?=[-_.]|$)", re.IGNORECASE)
        return any(pattern.search(f.path) for f in self.files)


def gguf_choices(files: Sequence[RemoteFile]) -> list[GGUFChoice]:
    """The repo's GGUF models (split parts grouped), projectors left out, sorted by path."""
    groups: dict[str, list[RemoteFile]] = {}
    for remote in files:
        if not is_gguf(remote.path) or is_projector(remote.path):
            continue
        split = _SPLIT.match(remote.path)
        key = split.group("base") if split else remote.path
        groups.setdefault(key, []).append(remote)
    choices = []
    for key, members in sorted(groups.items()):
        members.sort(key=lambda f: f.path)
        label = quant_of(members[0].path) or basename(key).removesuffix(".gguf")
        choices.append(GGUFChoice(key, label, members))
    return choices


def _describe(choices: Sequence[GGUFChoice]) -> str:
    from rbee.workflows.disk import format_gb

    labels = {c.label for c in choices}
    parts = []
    for choice in choices:
        # Two models with the same quantization in one repo: name them by file.
        name = choice.label if len(labels) == len(choices) else basename(choice.key)
        split = f", {len(choice.files)} parts" if len(choice.files) > 1 else ""
        parts.append(f"{name} ({format_gb(choice.size)}{split})")
    return ", ".join(parts)


def select_gguf(files: Sequence[RemoteFile], quant: str | None, where: str) -> Selection:
    choices = gguf_choices(files)
    if not choices:
        raise NoMatchingFilesError(f"{where} has no GGUF files{_listing_hint(files)}")
    if quant is None:
        if len(choices) == 1:
            chosen = choices[0]
            return Selection(list(chosen.files), "gguf", "gguf", chosen.label)
        raise AmbiguousQuantError(
            f"{where} has {len(choices)} quantizations; choose one with --quant: "
            f"{_describe(choices)}"
        )
    matching = [c for c in choices if c.matches(quant)]
    if not matching:
        raise NoMatchingFilesError(
            f"{where} has no {quant} GGUF; available quantizations: {_describe(choices)}"
        )
    if len(matching) > 1:
        raise AmbiguousQuantError(
            f"{where}: --quant {quant} matches {len(matching)} GGUF models; choose with "
            f"--include: {_describe(matching)}"
        )
    chosen = matching[0]
    return Selection(list(chosen.files), "gguf", "gguf", chosen.label)


def is_safetensors_file(path: str) -> bool:
    name = basename(path)
    lowered = name.lower()
    if lowered.endswith(DUPLICATE_WEIGHTS):
        return False
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in SAFETENSORS_PATTERNS):
        return True
    return name.startswith("vocab.")


def select_safetensors(files: Sequence[RemoteFile], where: str) -> Selection:
    chosen = [f for f in files if is_safetensors_file(f.path)]
    if not any(f.path.endswith(".safetensors") for f in chosen):
        raise NoMatchingFilesError(f"{where} has no .safetensors files{_listing_hint(files)}")
    return Selection(chosen, "safetensors", "safetensors")


def matches_glob(path: str, pattern: str) -> bool:
    if "/" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    return fnmatch.fnmatchcase(basename(path), pattern)


def select_included(files: Sequence[RemoteFile], include: Sequence[str], where: str) -> Selection:
    chosen = [f for f in files if any(matches_glob(f.path, p) for p in include)]
    if not chosen:
        globs = " ".join(f"--include {p!r}" for p in include)
        raise NoMatchingFilesError(f"{where}: no file matches {globs}{_listing_hint(files)}")
    fmt = None
    if any(is_gguf(f.path) for f in chosen):
        fmt = "gguf"
    elif any(f.path.endswith(".safetensors") for f in chosen):
        fmt = "safetensors"
    return Selection(chosen, "include", fmt)


def _listing_hint(files: Sequence[RemoteFile]) -> str:
    if not files:
        return " (the repo is empty)"
    names = [f.path for f in files[:8]]
    more = f" and {len(files) - 8} more" if len(files) > 8 else ""
    return f" (it has {', '.join(names)}{more}; choose files with --include)"


def select_files(
    files: Sequence[RemoteFile],
    *,
    format: str | None,
    quant: str | None = None,
    include: Sequence[str] = (),
    where: str = "the repo",
) -> Selection:
    """The files a model of `format` takes from `files` (see the module's rules).

    `format` is the catalog entry's; a `safetensors` entry (the default) whose repo holds GGUF
    files but no safetensors, or any entry given a `quant`, takes the GGUF rule. `where` names
    the repo and revision in messages.
    """
    if include:
        return select_included(files, include, where)
    has_safetensors = any(f.path.endswith(".safetensors") for f in files)
    has_gguf = any(is_gguf(f.path) for f in files)
    if format == "gguf" or quant is not None or (has_gguf and not has_safetensors):
        return select_gguf(files, quant, where)
    return select_safetensors(files, where)
