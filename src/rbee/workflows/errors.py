"""The failures of the workflows: `CatalogError` subclasses, so every CLI shows them as one line."""

from __future__ import annotations

from rbee.catalog.errors import CatalogError


class WorkflowError(CatalogError):
    """A workflow could not do its job; the message says what and where, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)  # made one printable line by CatalogError


class NotEnoughSpaceError(WorkflowError):
    """The destination's file system has less free space than the work needs."""

    def __init__(self, needed: int, free: int, where: str) -> None:
        from rbee.workflows.disk import format_gb

        super().__init__(f"needs {format_gb(needed)}, {format_gb(free)} free on {where}")
        self.needed = needed
        self.free = free
        self.where = where
