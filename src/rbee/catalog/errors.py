"""The catalog's exceptions: every failure a caller can act on is a `CatalogError`.

Messages are written for the person who has to fix the problem: they name the file, the model
and the field, say what is wrong, and mention the backup when there is one.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    StrPath = str | os.PathLike[str]


class CatalogError(Exception):
    """Base class of every error raised by `rbee.catalog`.

    The message is always one printable line: control characters, line separators and lone
    surrogates (which could come from a file name or a field value) are shown as escapes, so a
    CLI can print it as a single `error: ...` line on any terminal and in any encoding.
    """

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


# Control characters (C0, DEL, C1), line and paragraph separators, lone surrogates (which no
# encoding can print), and the bidirectional overrides and isolates (which reorder what follows
# them on screen, so that a file name could make a message read differently).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """`text` as one line safe to print on a terminal: each character above escaped.

    A newline becomes `\\x0a`, an escape `\\x1b`, a right-to-left override `\\u202e`. This is the
    one escaping rule of rbee: the CLIs' `printable` is this function.
    """
    if text.isprintable():  # the common case; every character above is non-printable
        return text
    return _UNPRINTABLE.sub(_escape, text)


def _backup_hint(path: StrPath | None) -> str:
    if path is None:
        return ""
    backup = os.fspath(path) + ".bak"
    if os.path.isfile(backup):
        return f" (the previous version is in {backup})"
    return ""


class _AtPath:
    """`.path`: where the error happened, as a `pathlib.Path` (or None).

    Kept as a string and made a `Path` only when asked for: importing `pathlib` costs every CLI
    start-up a few milliseconds, and most errors are only printed.
    """

    _path: str | None = None

    @property
    def path(self) -> Path | None:
        if self._path is None:
            return None
        from pathlib import Path

        return Path(self._path)

    @path.setter
    def path(self, value: StrPath | None) -> None:
        self._path = None if value is None else os.fspath(value)


class CatalogNotFoundError(_AtPath, CatalogError):
    """There is no catalog file at `path`."""

    def __init__(self, path: StrPath) -> None:
        self.path = path
        super().__init__(f"no catalog at {self._path}")


class CatalogIOError(_AtPath, CatalogError):
    """The catalog (or its directory, lock or backup) could not be read or written."""

    def __init__(self, path: StrPath, action: str, cause: OSError) -> None:
        self.path = path
        self.cause = cause
        reason = cause.strerror or str(cause)
        super().__init__(f"cannot {action} {self._path}: {reason}")


class CatalogLockError(_AtPath, CatalogError):
    """Another process held the catalog's lock for longer than we were willing to wait."""

    def __init__(self, lock_path: StrPath, timeout: float) -> None:
        self.path = lock_path
        super().__init__(
            f"timed out after {timeout:g}s waiting for the lock {self._path}; "
            "another rbee process is writing this catalog"
        )


class CatalogConflictError(_AtPath, CatalogError):
    """The file changed on disk between `load` and `save`; saving would drop that change."""

    def __init__(self, path: StrPath) -> None:
        self.path = path
        super().__init__(
            f"{self._path} was changed by another process since it was loaded; nothing was saved. "
            "Load it again and redo the change (edit_catalog does this under the lock)"
        )


class CatalogCorruptError(_AtPath, CatalogError):
    """The file exists but is not a JSON document; it is never overwritten."""

    def __init__(self, path: StrPath | None, reason: str, line: int = 0, column: int = 0) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason
        where = self._path if self._path is not None else "catalog"
        if line:
            where += f":{line}:{column}"
        super().__init__(
            f"{where}: not a valid catalog: {reason}; the file was left untouched"
            + _backup_hint(path)
        )


class CatalogInvalidError(_AtPath, CatalogError):
    """A document or entry breaks a rule of the catalog format.

    `field` is the path of the offending field inside the entry (`metadata.repo`) or the
    document (`version`); `model_id` names the entry when there is one.
    """

    def __init__(
        self,
        field: str,
        problem: str,
        *,
        model_id: str | None = None,
        index: int | None = None,
        path: StrPath | None = None,
    ) -> None:
        self.field = field
        self.problem = problem
        self.model_id = model_id
        self.index = index
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        parts: list[str] = []
        if self._path is not None:
            parts.append(self._path)
        if self.model_id is not None:
            parts.append(f"model {self.model_id!r}")
        elif self.index is not None:
            parts.append(f"models[{self.index}]")
        parts.append(f"field {self.field!r}")
        message = ": ".join(parts) + f": {self.problem}"
        if self._path is not None:
            message += "; the file was left untouched" + _backup_hint(self._path)
        return message

    def in_file(self, path: StrPath) -> CatalogInvalidError:
        """The same error, located in `path`."""
        return CatalogInvalidError(
            self.field, self.problem, model_id=self.model_id, index=self.index, path=path
        )


class UnsupportedVersionError(_AtPath, CatalogError):
    """The catalog was written by a newer rbee with a format this one does not know."""

    def __init__(self, path: StrPath | None, version: str, supported: str) -> None:
        self.path = path
        self.version = version
        where = f"{self._path}: " if self._path is not None else ""
        super().__init__(
            f"{where}catalog format version {version} is newer than this rbee supports "
            f"({supported}); upgrade rbee to read it (the file was left untouched)"
        )


class ModelExistsError(CatalogError):
    """An entry with this id is already in the catalog."""

    def __init__(self, model_id: str, holder: str | None = None, *, earlier: bool = False) -> None:
        self.model_id = model_id
        self.holder = model_id if holder is None else holder
        """The id already taken: `model_id` itself, or one that differs only in case."""
        self.earlier = earlier
        """Whether `holder` is not in the catalog but earlier in the same list of new entries."""
        where = "earlier in the same list" if earlier else "already in the catalog"
        if self.holder == model_id:
            super().__init__(
                f"model {model_id!r} is listed twice"
                if earlier
                else f"model {model_id!r} already exists in the catalog"
            )
        else:
            super().__init__(
                f"model {model_id!r} collides with {self.holder!r}, {where} "
                "(ids are unique ignoring case: they name folders on case-insensitive disks)"
            )


class ModelNotFoundError(CatalogError):
    """No entry with this id is in the catalog."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"model {model_id!r} is not in the catalog")
