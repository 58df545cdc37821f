"""What can go wrong talking to the Hub or moving its files: one-line `WorkflowError`s.

Every message names the repo, the revision, the file or the endpoint at fault and, where there
is one, what to do about it.
"""

from __future__ import annotations

from rbee.workflows.errors import WorkflowError


class HubError(WorkflowError):
    """A download could not be done; the base of every error below."""


class HubOfflineError(HubError):
    """`HF_HUB_OFFLINE` is set: downloads need the Hub."""

    def __init__(self) -> None:
        super().__init__(
            "HF_HUB_OFFLINE is set: downloading needs the Hub; unset it (or use files already "
            "on disk with `models scan`)"
        )


class HubUnreachableError(HubError):
    """The endpoint did not answer (refused, unresolvable, timed out)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the Hub at {endpoint}: {reason} (check the network, or set "
            "HF_ENDPOINT to a mirror)"
        )
        self.endpoint = endpoint


class RepoNotFoundError(HubError):
    def __init__(self, repo: str, endpoint: str) -> None:
        super().__init__(
            f"repo {repo} not found on {endpoint} (check metadata.repo; a private repo needs "
            "HF_TOKEN)"
        )


class RevisionNotFoundError(HubError):
    def __init__(self, repo: str, revision: str) -> None:
        super().__init__(
            f"revision {revision!r} not found in repo {repo} (a branch, tag or commit)"
        )


class GatedRepoError(HubError):
    """401 or 403: a gated or private repo, or a token without access."""

    def __init__(self, repo: str, endpoint: str, status: int) -> None:
        super().__init__(
            f"repo {repo} is gated or private ({status} from {endpoint}): accept its licence on "
            "the Hub with your account, then set HF_TOKEN (or run `hf auth login`)"
        )


class HubHTTPError(HubError):
    """Any other unexpected answer."""


class NoMatchingFilesError(HubError):
    """The selection rule (or `--include`) matched nothing in the repo."""


class AmbiguousQuantError(HubError):
    """A GGUF repo holds several quantizations and none (or more than one) was chosen."""


class TransferError(HubError):
    """The connection broke and in-process retries did not get the file; a rerun resumes."""


class DiskFullError(HubError):
    """The disk filled up mid-transfer; the partial file is kept for a rerun."""


class HashMismatchError(HubError):
    """A file's bytes did not hash to what the Hub says; the file was discarded."""

    def __init__(self, path: str, algorithm: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{path}: {algorithm} mismatch (the Hub says {expected}, the download hashes to "
            f"{actual}); the corrupted file was discarded, run the download again"
        )
        self.path = path
