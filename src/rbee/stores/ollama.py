"""Ollama's model store, read as Ollama lays it out.

    <models>/manifests/HOST/NAMESPACE/MODEL/TAG   JSON: {schemaVersion, mediaType, config, layers}
    <models>/blobs/sha256-<hex>                   content named by its own sha256

The store is `OLLAMA_MODELS`, else `~/.ollama/models`, else `/usr/share/ollama/.ollama/models`
(the home of the Linux service's `ollama` user). A model is a manifest: its GGUF is the layer of
media type `application/vnd.ollama.image.model`; a projector layer
(`application/vnd.ollama.image.projector`) belongs to the same model. The config blob says the
family, the quantization (`file_type`) and the parameter size (`model_type`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from rbee.stores.common import Candidate, Source, StoreProblem, StoreScan, home

TOOL = "Ollama store"
WHERE = "looked at $OLLAMA_MODELS, ~/.ollama/models, /usr/share/ollama/.ollama/models"
SERVICE_STORE = "/usr/share/ollama/.ollama/models"
MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
PROJECTOR_MEDIA_TYPE = "application/vnd.ollama.image.projector"
DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
MAX_MANIFEST_BYTES = 1 << 20
_DIGEST = re.compile(r"^sha256[:-]([0-9a-fA-F]{64})$")


def candidates_paths(environ: Mapping[str, str]) -> list[str]:
    """Where Ollama keeps models, in the order it looks (OLLAMA_MODELS wins outright)."""
    if environ.get("OLLAMA_MODELS"):
        return [environ["OLLAMA_MODELS"]]
    return [os.path.join(home(environ), ".ollama", "models"), SERVICE_STORE]


def locate(environ: Mapping[str, str]) -> str | None:
    for path in candidates_paths(environ):
        if os.path.isdir(os.path.join(path, "manifests")):
            return path
    return None


def source(location: str) -> Source:
    return Source("ollama", location, f"the {TOOL} {location}", lambda: scan(location))


def is_store(directory: str) -> bool:
    return os.path.isdir(os.path.join(directory, "manifests")) and os.path.isdir(
        os.path.join(directory, "blobs")
    )


def display_name(host: str, namespace: str, model: str, tag: str) -> str:
    """The name `ollama list` shows (Ollama's `DisplayShortest`)."""
    if host.lower() != DEFAULT_HOST:
        prefix = f"{host}/{namespace}/"
    elif namespace.lower() != DEFAULT_NAMESPACE:
        prefix = f"{namespace}/"
    else:
        prefix = ""
    return f"{prefix}{model}:{tag}"


def blob_path(store: str, digest: str) -> str | None:
    match = _DIGEST.fullmatch(digest) if isinstance(digest, str) else None
    if match is None:
        return None
    return os.path.join(store, "blobs", f"sha256-{match[1].lower()}")


def scan(store: str) -> StoreScan:
    """Every manifest's model (manifests at exactly HOST/NAMESPACE/MODEL/TAG, as Ollama globs)."""
    found = StoreScan()
    manifests = manifest_paths(os.path.join(store, "manifests"))
    for manifest in manifests:
        candidate = read_manifest(store, manifest, found.problems)
        if candidate is not None:
            found.candidates.append(candidate)
    return found


def manifest_paths(root: str) -> list[str]:
    """Files at exactly `root/*/*/*/*` (Ollama's own glob), each model's `latest` first."""
    level = [root]
    for _ in range(3):
        level = [
            os.path.join(d, n)
            for d in level
            for n in _names(d)
            if os.path.isdir(os.path.join(d, n))
        ]
    found = [
        os.path.join(d, n) for d in level for n in _names(d) if os.path.isfile(os.path.join(d, n))
    ]
    # A model's `latest` first: of two tags naming the same blobs, it is the one adopted.
    return sorted(found, key=lambda p: (os.path.dirname(p), os.path.basename(p) != DEFAULT_TAG, p))


def _names(directory: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(directory) if not n.startswith("."))
    except OSError:
        return []


def read_manifest(store: str, manifest: str, problems: list[StoreProblem]) -> Candidate | None:
    rel = os.path.relpath(manifest, os.path.join(store, "manifests"))
    host, namespace, model, tag = rel.split(os.sep)
    name = display_name(host, namespace, model, tag)
    where = f"ollama {name} ({manifest})"
    try:
        with open(manifest, "rb") as file:
            document = json.loads(file.read(MAX_MANIFEST_BYTES))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not JSON"
        problems.append(StoreProblem(where, f"cannot read the manifest: {reason}"))
        return None
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        problems.append(StoreProblem(where, "the manifest has no layers"))
        return None
    models = [x for x in layers if isinstance(x, dict) and x.get("mediaType") == MODEL_MEDIA_TYPE]
    if not models:
        problems.append(StoreProblem(where, "no GGUF layer (not a GGUF model); not adopted"))
        return None
    projectors = [
        x for x in layers if isinstance(x, dict) and x.get("mediaType") == PROJECTOR_MEDIA_TYPE
    ]
    files: list[str] = []
    digests: dict[str, str] = {}
    model_blob = ""
    for layer in models[:1] + projectors:
        path = blob_path(store, layer.get("digest", ""))
        if path is None:
            problems.append(
                StoreProblem(where, f"a layer's digest is not sha256: {layer.get('digest')!r}")
            )
            return None
        blob = os.path.basename(path)
        if not os.path.isfile(path):
            problems.append(
                StoreProblem(
                    where, f"the manifest names blob {blob}, which is missing; not adopted"
                )
            )
            return None
        size = layer.get("size")
        actual = os.path.getsize(path)
        if isinstance(size, int) and size != actual:
            problems.append(
                StoreProblem(
                    where,
                    f"blob {blob} holds {actual} bytes, the manifest says {size}; not adopted",
                )
            )
            return None
        if not model_blob:
            model_blob = path
        files.append(blob)
        digests[blob] = blob.removeprefix("sha256-")
    hints = read_config(store, document.get("config"))
    hint = model if tag.lower() == DEFAULT_TAG else f"{model}-{tag}"
    return Candidate(
        path=model_blob,
        is_dir=False,
        files=files,
        main_files=[model_blob],
        source={"type": "ollama", "name": name, "manifest": rel.replace(os.sep, "/")},
        description=f"Ollama: {name}",
        id_hint=hint,
        name_hint=name,
        named_sha256=digests,
        hints=hints,
    )


def read_config(store: str, config: Any) -> dict[str, Any]:
    """What the config blob says: model_format, model_family, model_type, file_type."""
    if not isinstance(config, dict):
        return {}
    path = blob_path(store, config.get("digest", ""))
    if path is None:
        return {}
    try:
        with open(path, "rb") as file:
            document = json.loads(file.read(MAX_MANIFEST_BYTES))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    keys = ("model_format", "model_family", "model_type", "file_type")
    return {k: document[k] for k in keys if isinstance(document.get(k), str) and document[k]}
