"""Change fields of one registered model in place; the rest stay as they are.

    from rbee.workflows.update import update_model

    result = update_model(".test-models/catalog.json", "phi3",
                          fields={"name": "Phi-3 Mini"}, metadata={"context_length": 4096})
    print(result.changed)   # ['name', 'metadata.context_length']

`fields` sets entry fields (`name`, `architecture`, `format`, `path`, `size_gb`, `downloaded`,
`backends`); `metadata` merges into the entry's metadata: a value sets the key, `None` removes
it, keys not named stay. The new entry is validated as a whole before anything is written, and
the catalog is written (in one `edit_catalog` transaction) only if a value really changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rbee.workflows.errors import WorkflowError

UPDATABLE_FIELDS = (
    "name",
    "architecture",
    "format",
    "path",
    "size_gb",
    "downloaded",
    "backends",
)
"""The entry fields `update_model` sets (`id` names the entry; `record` is the workflows')."""


class NothingToUpdateError(WorkflowError):
    """`update_model` was given no field and no metadata key."""

    def __init__(self) -> None:
        super().__init__("nothing to update: give at least one field")


@dataclass
class UpdateResult:
    """The model updated, and which fields changed (none: it already had these values)."""

    model_id: str
    changed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `rbee-hive models update --json` prints."""
        return {
            "updated": [self.model_id] if self.changed else [],
            "unchanged": [] if self.changed else [self.model_id],
            "changed": list(self.changed),
        }


def update_model(
    catalog_path: str | os.PathLike[str],
    model_id: str,
    fields: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> UpdateResult:
    """Set `fields` and merge `metadata` (None removes a key) into the entry `model_id`.

    Raises `ModelNotFoundError` for an unknown id, `CatalogInvalidError` for a value the
    catalog refuses (nothing is written then), `NothingToUpdateError` when both are empty.
    """
    from rbee.catalog import ModelEntry, edit_catalog
    from rbee.catalog.entries_file import differing_fields

    fields = dict(fields or {})
    metadata = dict(metadata or {})
    if not fields and not metadata:
        raise NothingToUpdateError()
    unknown = [name for name in fields if name not in UPDATABLE_FIELDS]
    if unknown:
        raise WorkflowError(
            f"{unknown[0]!r} is not a field update sets (fields: {', '.join(UPDATABLE_FIELDS)})"
        )
    if "backends" in fields:
        fields["backends"] = list(dict.fromkeys(fields["backends"]))
    with edit_catalog(catalog_path) as catalog:
        current = catalog.get_model(model_id)
        document = current.to_dict()
        document.update(fields)
        merged = dict(document["metadata"])
        for key, value in metadata.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        document["metadata"] = merged
        updated = ModelEntry.from_dict(document)
        changed = differing_fields(current, updated)
        if changed:
            catalog.replace_model(updated)
    return UpdateResult(model_id, changed)


__all__ = ["UPDATABLE_FIELDS", "NothingToUpdateError", "UpdateResult", "update_model"]
