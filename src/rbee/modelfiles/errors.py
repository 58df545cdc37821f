"""The one exception type of `rbee.modelfiles`: a model file that cannot be read as it claims."""

from __future__ import annotations

import os


class ModelFileError(Exception):
    """A model file (or directory) is missing, broken, hostile or of an unsupported kind.

    `path` is the file at fault; `problem` says what is wrong with it, in words a user can act on.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NoModelFilesError(ModelFileError):
    """The path does not exist or holds no model weights at all."""
