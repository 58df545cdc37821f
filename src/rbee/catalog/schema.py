"""The catalog's JSON Schema, generated from the record classes `ModelEntry` and `ModelCatalog`.

Types come from the fields' annotations, constraints from their `constraints` metadata (the same
constants the validators use). `python -m rbee.catalog.schema` prints it; the committed copy is
`.specs/catalog.schema.json`, and a test fails when the two differ.
"""

from __future__ import annotations

import json
import typing
from typing import Any

from rbee.catalog.document import ModelCatalog
from rbee.catalog.entry import ModelEntry
from rbee.catalog.fields import record_fields
from rbee.catalog.rules import SCHEMA_VERSION

SCHEMA_ID = "https://rbee.invalid/schemas/catalog-1.schema.json"


def _json_type(annotation: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    if annotation is str:
        return {"type": "string"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is float:
        return {"type": "number"}
    if origin is list:
        (item,) = typing.get_args(annotation)
        return {"type": "array", "items": _json_type(item, definitions)}
    if origin is dict:
        return {"type": "object"}
    if isinstance(annotation, type) and hasattr(annotation, "__record_fields__"):
        definitions[annotation.__name__] = _object_schema(annotation, definitions)
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    raise TypeError(f"no JSON Schema type for {annotation!r}")


def _object_schema(cls: type, definitions: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, localns={"Any": Any})
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, item in record_fields(cls):
        if item.metadata.get("serialized", True) is False:
            continue
        if item.metadata.get("schema") == "record":
            from rbee.catalog.record import RECORD_SCHEMA

            properties[name] = RECORD_SCHEMA
            continue
        schema = _json_type(hints[name], definitions)
        constraints = dict(item.metadata.get("constraints", {}))
        description = constraints.pop("description", None)
        if "items" in constraints and "items" in schema:
            schema["items"] = {**schema["items"], **constraints.pop("items")}
        if description:
            schema = {"description": description, **schema}
        schema.update(constraints)
        properties[name] = schema
        if not item.metadata.get("optional"):
            required.append(name)
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    return {
        "type": "object",
        "description": doc,
        "properties": properties,
        "required": required,
        # Unknown keys are kept on load and written back (forward compatibility within 1.x).
        "additionalProperties": True,
    }


def catalog_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a catalog document."""
    definitions: dict[str, Any] = {}
    _json_type(ModelEntry, definitions)
    root = _object_schema(ModelCatalog, definitions)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"rbee model catalog, format {SCHEMA_VERSION}",
        **root,
        "$defs": definitions,
    }


def render_schema() -> str:
    return json.dumps(catalog_schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
