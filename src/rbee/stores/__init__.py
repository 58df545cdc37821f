"""Other tools' model stores, each read the way its own tool reads it, to adopt models in place.

One module per store, each with `locate(environ) -> str | None` (where the tool keeps its models
on this machine, or None when it has none) and `scan(location) -> StoreScan` (`folders` has only
`scan(path)`):

- `rbee.stores.hf`: the Hugging Face cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
  `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`);
- `rbee.stores.ollama`: Ollama's models folder (`OLLAMA_MODELS`, else `~/.ollama/models`, else the
  Linux service's `/usr/share/ollama/.ollama/models`);
- `rbee.stores.lmstudio`: LM Studio's home (named by `~/.lmstudio-home-pointer`, else
  `~/.cache/lm-studio`, else `~/.lmstudio`), models at `models/PUBLISHER/MODEL/`;
- `rbee.stores.folders`: a plain path: a folder of model folders (the pool's own `.test-models/`),
  one model's folder, or one model file.

A scan lists files and reads names (directory entries, symlinks, manifests, refs), and the
headers of GGUF files only to tell a projector (mmproj) from a model; never weights. What it
finds is a `Candidate`: where the model is (`path`, a GGUF file or a safetensors folder,
absolute), which files are its own (`files`, relative to its directory), the digests the store's
own names give (`named_sha256`), and where it came from (`source`, the catalog record's
`source`). What it could not use is a `StoreProblem`. Nothing here prints or writes.
"""

from __future__ import annotations

from rbee.stores.common import STORE_WORDS, Candidate, StoreProblem, StoreScan, resolve_sources

STORE_NAMES = STORE_WORDS
"""The SOURCE words `rbee-hive models adopt` takes for a store (anything else is a path)."""

__all__ = ["STORE_NAMES", "Candidate", "StoreProblem", "StoreScan", "resolve_sources"]
