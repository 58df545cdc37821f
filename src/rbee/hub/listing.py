"""A repo's files at a revision, from the Hub through `huggingface_hub`.

`huggingface_hub` does the talking: endpoint (`HF_ENDPOINT`), token (`HF_TOKEN` or the one `hf
auth login` saved), offline mode (`HF_HUB_OFFLINE`), the request headers and the Hub's typed
errors. This module turns its answers into `RemoteFile`s and its errors into one-line
`rbee.hub.errors` messages. Importing it imports `huggingface_hub` (~20 ms; `HfApi` ~100 ms more
when first used): only `download` does.
"""

from __future__ import annotations

import re

from rbee.hub.errors import (
    GatedRepoError,
    HubError,
    HubHTTPError,
    HubOfflineError,
    HubUnreachableError,
    RepoNotFoundError,
    RevisionNotFoundError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the Hub to accept a connection."""
READ_TIMEOUT = 60.0
"""Seconds to wait for the next bytes of an answer (a stalled mirror, a dead link)."""
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{40}$")


class RemoteFile:
    """One file of a repo at a commit: its path, size and the digest the Hub vouches for.

    `lfs_sha256` is the sha256 of the content for LFS files (the usual weights); other files are
    identified by `blob_id`, their git blob sha1 (`sha1(b"blob <size>\\0" + content)`).
    """

    __slots__ = ("blob_id", "lfs_sha256", "path", "size")

    def __init__(self, path: str, size: int, blob_id: str, lfs_sha256: str | None = None) -> None:
        self.path = path
        self.size = size
        self.blob_id = blob_id
        self.lfs_sha256 = lfs_sha256

    @property
    def algorithm(self) -> str:
        """`sha256` (LFS) or `git-sha1` (a small file stored in git)."""
        return "sha256" if self.lfs_sha256 else "git-sha1"

    @property
    def expected_digest(self) -> str:
        return self.lfs_sha256 or self.blob_id

    def __repr__(self) -> str:
        return f"RemoteFile({self.path!r}, {self.size}, {self.algorithm}={self.expected_digest})"


class RepoListing:
    """What the Hub says a repo holds at a revision."""

    __slots__ = ("commit", "endpoint", "files", "repo", "revision")

    def __init__(
        self, repo: str, revision: str, commit: str, files: list[RemoteFile], endpoint: str
    ) -> None:
        self.repo = repo
        self.revision = revision
        self.commit = commit
        self.files = files
        self.endpoint = endpoint


def hub_endpoint() -> str:
    """The endpoint `huggingface_hub` talks to (`HF_ENDPOINT`, else https://huggingface.co)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT).rstrip("/")


def check_online() -> None:
    """Raise `HubOfflineError` when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is set."""
    from huggingface_hub import constants

    if constants.is_offline_mode():
        raise HubOfflineError


def timeout() -> Any:
    """Bounded waits for every request we send (`huggingface_hub`'s own session has none)."""
    import httpx2

    return httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)


def translate_errors(repo: str, revision: str, endpoint: str) -> Iterator[None]:
    """Turn `huggingface_hub` and `httpx2` exceptions into `rbee.hub.errors` (a generator for
    `contextlib.contextmanager`)."""
    import httpx2
    from huggingface_hub import errors as hf

    try:
        yield
    except HubError:
        raise
    except hf.OfflineModeIsEnabled:
        raise HubOfflineError from None
    except hf.GatedRepoError as exc:
        raise GatedRepoError(repo, endpoint, _status(exc) or 401) from None
    except hf.RevisionNotFoundError:
        raise RevisionNotFoundError(repo, revision) from None
    except hf.RepositoryNotFoundError:
        raise RepoNotFoundError(repo, endpoint) from None
    except hf.HfHubHTTPError as exc:
        status = _status(exc)
        if status in (401, 403):
            raise GatedRepoError(repo, endpoint, status) from None
        raise HubHTTPError(
            f"{endpoint}: HTTP {status} for repo {repo}: {_first_line(exc)}"
        ) from None
    except httpx2.TimeoutException:
        raise HubUnreachableError(endpoint, "no answer within the time limit") from None
    except httpx2.TransportError as exc:
        raise HubUnreachableError(endpoint, _first_line(exc) or type(exc).__name__) from None


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def list_repo(repo: str, revision: str = "main", *, endpoint: str | None = None) -> RepoListing:
    """The files of model repo `repo` at `revision` (a branch, tag or commit), with the commit.

    Raises `HubOfflineError`, `HubUnreachableError`, `RepoNotFoundError`,
    `RevisionNotFoundError`, `GatedRepoError` or `HubHTTPError`.
    """
    import contextlib

    check_online()
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    where = (endpoint or hub_endpoint()).rstrip("/")
    api = HfApi(endpoint=where)
    with contextlib.contextmanager(translate_errors)(repo, revision, where):
        # The revision's commit first (with a bounded wait: an unreachable endpoint fails here),
        # then the tree at that commit, so that a branch moving meanwhile cannot mix two commits.
        info = api.model_info(repo, revision=revision, timeout=timeout())
        commit = info.sha or (revision if COMMIT_PATTERN.match(revision) else None)
        if not commit:
            raise HubHTTPError(f"{where}: the Hub did not say which commit {repo}@{revision} is")
        files = [
            RemoteFile(
                item.path,
                int(item.size),
                item.blob_id,
                item.lfs.sha256 if item.lfs is not None else None,
            )
            for item in api.list_repo_tree(repo, recursive=True, revision=commit)
            if isinstance(item, RepoFile)
        ]
    for remote in files:
        problem = unsafe(remote)
        if problem:
            raise HubHTTPError(f"{where}: the listing of {repo}@{revision} has {problem}")
    files.sort(key=lambda f: f.path)
    return RepoListing(repo, revision, commit, files, where)


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def unsafe(remote: RemoteFile) -> str | None:
    """Why a listed file cannot be written where its path says, or None.

    A path comes from the server: one with `..`, an absolute path or a backslash could write
    outside the model folder, and the digests name the partial files.
    """
    path = remote.path
    if not path or path.startswith("/") or _FORBIDDEN.search(path):
        return f"an unsafe file path {path!r}"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return f"an unsafe file path {path!r}"
    if remote.lfs_sha256 is not None and not _SHA256.match(remote.lfs_sha256):
        return f"a malformed sha256 for {path!r}"
    if remote.lfs_sha256 is None and not _SHA1.match(remote.blob_id or ""):
        return f"a malformed git blob id for {path!r}"
    if remote.size < 0:
        return f"a negative size for {path!r}"
    return None
