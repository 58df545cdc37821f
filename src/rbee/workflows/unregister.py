"""Remove models from a pool's catalog, all or nothing; their files stay on disk.

    from rbee.workflows.unregister import unregister_models

    result = unregister_models(".test-models/catalog.json", ["phi3"], missing_ok=True)
    print(result.removed, result.missing)   # ['phi3'] []

Every id is looked up before anything is removed: an unknown id is `ModelNotFoundError` and
nothing changes, unless `missing_ok`, which reports it in `missing` instead. Ids given twice
count once. Model files are never deleted. One `edit_catalog` transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class UnregisterResult:
    """The ids removed, and (with `missing_ok`) those that were not in the catalog."""

    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `rbee-hive models unregister --json` prints."""
        return {"unregistered": list(self.removed), "missing": list(self.missing)}


def unregister_models(
    catalog_path: str | os.PathLike[str], ids: Iterable[str], *, missing_ok: bool = False
) -> UnregisterResult:
    """Remove the entries `ids` from the catalog at `catalog_path` (see the module's rules)."""
    from rbee.catalog import ModelNotFoundError, edit_catalog

    result = UnregisterResult()
    with edit_catalog(catalog_path) as catalog:
        for model_id in dict.fromkeys(ids):
            if catalog.find_model(model_id) is None:
                if not missing_ok:
                    raise ModelNotFoundError(model_id)
                result.missing.append(model_id)
            else:
                catalog.remove_model(model_id)
                result.removed.append(model_id)
    return result


__all__ = ["UnregisterResult", "unregister_models"]
