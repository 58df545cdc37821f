"""`rbee.catalog`: a pool's model catalog, validated on load and saved without loss.

    from rbee.catalog import ModelCatalog, ModelEntry, edit_catalog

    with edit_catalog(".test-models/catalog.json", create_pool_id="mac.home.arpa") as catalog:
        catalog.add_model(ModelEntry(id="tinyllama", name="TinyLlama 1.1B Chat",
                                     architecture="llama",
                                     metadata={"repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}))

The library knows nothing about terminals: errors are `CatalogError` subclasses whose messages
are written for the user, and the CLIs decide how to show them.
"""

from rbee.catalog.document import ModelCatalog
from rbee.catalog.entry import ModelEntry
from rbee.catalog.errors import (
    CatalogConflictError,
    CatalogCorruptError,
    CatalogError,
    CatalogInvalidError,
    CatalogIOError,
    CatalogLockError,
    CatalogNotFoundError,
    ModelExistsError,
    ModelNotFoundError,
    UnsupportedVersionError,
)
from rbee.catalog.rules import (
    BACKENDS,
    CATALOG_FILE_NAME,
    DEFAULT_BACKENDS,
    DEFAULT_FORMAT,
    FORMATS,
    MODELS_DIR,
    SCHEMA_VERSION,
)
from rbee.catalog.storage import (
    catalog_lock,
    edit_catalog,
    load_catalog,
    parse_catalog,
    render_catalog,
    save_catalog,
)

DEFAULT_CATALOG_PATH = f"{MODELS_DIR}/{CATALOG_FILE_NAME}"
"""The seed's catalog location, relative to the pool's root."""

__all__ = [
    "BACKENDS",
    "CATALOG_FILE_NAME",
    "DEFAULT_BACKENDS",
    "DEFAULT_CATALOG_PATH",
    "DEFAULT_FORMAT",
    "FORMATS",
    "MODELS_DIR",
    "SCHEMA_VERSION",
    "CatalogConflictError",
    "CatalogCorruptError",
    "CatalogError",
    "CatalogIOError",
    "CatalogInvalidError",
    "CatalogLockError",
    "CatalogNotFoundError",
    "ModelCatalog",
    "ModelEntry",
    "ModelExistsError",
    "ModelNotFoundError",
    "UnsupportedVersionError",
    "catalog_lock",
    "edit_catalog",
    "load_catalog",
    "parse_catalog",
    "render_catalog",
    "save_catalog",
]
