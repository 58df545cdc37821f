"""An entry's relative `path` stays inside the pool root: no `..` part (absolute paths allowed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import CatalogInvalidError, ModelEntry, edit_catalog, load_catalog

ESCAPING = ["..", "../../etc", "models/../../x", "a/..", ".test-models/../.."]
INSIDE = ["..x", "x..", "a/..b/c", ".test-models/m", "./m", "/srv/models/../m", "/"]


@pytest.mark.parametrize("path", ESCAPING)
def test_a_relative_path_with_a_parent_part_is_refused(path: str) -> None:
    with pytest.raises(CatalogInvalidError, match=r"field 'path': must not have a '\.\.' part"):
        ModelEntry(id="m", name="M", architecture="llama", path=path)
    document = ModelEntry(id="m", name="M", architecture="llama").to_dict()
    document["path"] = path
    with pytest.raises(CatalogInvalidError, match=r"field 'path'"):
        ModelEntry.from_dict(document)


@pytest.mark.parametrize("path", INSIDE)
def test_other_paths_and_absolute_ones_are_accepted(path: str) -> None:
    assert ModelEntry(id="m", name="M", architecture="llama", path=path).path == path


def test_an_older_catalog_with_such_a_path_loads_and_the_entry_is_reported_when_edited(
    tmp_path: Path,
) -> None:
    from rbee.workflows.update import update_model

    document: dict[str, Any] = {
        "version": "1.0",
        "pool_id": "p",
        "updated_at": "2025-10-09T15:00:00Z",
        "models": [ModelEntry(id="old", name="Old", architecture="llama").to_dict()],
    }
    document["models"][0]["path"] = "../outside"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    with edit_catalog(path) as catalog:  # other edits still work
        catalog.add_model(ModelEntry(id="other", name="Other", architecture="llama"))
    assert load_catalog(path).get_model("old").path == "../outside"
    before = path.read_bytes()
    with pytest.raises(CatalogInvalidError, match=r"model 'old'.*'path'.*'\.\./outside'"):
        update_model(path, "old", fields={"name": "Renamed"})
    assert path.read_bytes() == before
    update_model(path, "old", fields={"path": "models/old"})  # fixing it is the way out
    assert load_catalog(path).get_model("old").path == "models/old"


def test_the_schema_says_the_same_of_entries_rbee_writes() -> None:
    import jsonschema  # type: ignore[import-untyped]

    from rbee.catalog.schema import catalog_schema

    schema = catalog_schema()["$defs"]["ModelEntry"]["properties"]["path"]
    for path in ESCAPING:
        assert not jsonschema.Draft202012Validator(schema).is_valid(path), path
    for path in INSIDE:
        assert jsonschema.Draft202012Validator(schema).is_valid(path), path
