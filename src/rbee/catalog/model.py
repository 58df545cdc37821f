"""The catalog's two types and their rules, under the names they have always had here.

The code lives along its seams: `rbee.catalog.rules` (constants, patterns, shared checks),
`rbee.catalog.fields` (the record-class machinery the JSON Schema is generated from),
`rbee.catalog.entry` (`ModelEntry`) and `rbee.catalog.document` (`ModelCatalog`, with its
`load` and `save`). This module only re-exports them; new code may import from either.
"""

from __future__ import annotations

from rbee.catalog.document import ModelCatalog
from rbee.catalog.entry import ModelEntry
from rbee.catalog.fields import FieldSpec, field, record_fields
from rbee.catalog.rules import (
    ARCHITECTURE_PATTERN,
    BACKEND_PATTERN,
    BACKENDS,
    CATALOG_FIELDS,
    CATALOG_FILE_NAME,
    DEFAULT_BACKENDS,
    DEFAULT_FORMAT,
    ENTRY_FIELDS,
    FORMATS,
    ID_PATTERN,
    MAX_NAME_LENGTH,
    METADATA_INTEGER_KEYS,
    MODELS_DIR,
    OPTIONAL_ENTRY_FIELDS,
    REPO_PATTERN,
    SCHEMA_VERSION,
    TEXT_PATTERN,
    TIMESTAMP_PATTERN,
    VERSION_PATTERN,
    is_newer_minor,
    json_value_problem,
    now_timestamp,
)

__all__ = [
    "ARCHITECTURE_PATTERN",
    "BACKENDS",
    "BACKEND_PATTERN",
    "CATALOG_FIELDS",
    "CATALOG_FILE_NAME",
    "DEFAULT_BACKENDS",
    "DEFAULT_FORMAT",
    "ENTRY_FIELDS",
    "FORMATS",
    "ID_PATTERN",
    "MAX_NAME_LENGTH",
    "METADATA_INTEGER_KEYS",
    "MODELS_DIR",
    "OPTIONAL_ENTRY_FIELDS",
    "REPO_PATTERN",
    "SCHEMA_VERSION",
    "TEXT_PATTERN",
    "TIMESTAMP_PATTERN",
    "VERSION_PATTERN",
    "FieldSpec",
    "ModelCatalog",
    "ModelEntry",
    "field",
    "is_newer_minor",
    "json_value_problem",
    "now_timestamp",
    "record_fields",
]
