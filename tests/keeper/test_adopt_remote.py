"""`llorch pool models adopt` on a real sshd pool, whose HOME holds a Hugging Face cache and an
Ollama store (laid out by tests/adopt/conftest.py's builders, as the tools write them)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adopt.conftest import HfCache, OllamaStore, gguf_bytes, sha256

pytestmark = pytest.mark.ssh

MAC = "mac.home.arpa"
COMMIT = "c0ffee" + "0" * 34


@pytest.fixture
def pool_stores(keeper: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An HF cache and an Ollama store in mac's HOME, where the pool's rbee-hive looks by
    default (its sshd session has no HF_HOME, OLLAMA_MODELS or XDG_CACHE_HOME); removed after."""
    home: Path = keeper.hosts.pools[MAC].home
    made = [home / ".cache" / "huggingface", home / ".ollama"]
    hf = HfCache(home / ".cache" / "huggingface" / "hub")
    ollama = OllamaStore(home / ".ollama" / "models")
    qwen = gguf_bytes(tmp_path, arch="qwen2", name="Qwen2.5 0.5B Instruct")
    llama = gguf_bytes(tmp_path, arch="llama", name="Llama 3.2 1B", file_type=7)
    snapshot = hf.add(
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        {"qwen2.5-0.5b-instruct-q4_k_m.gguf": qwen},
        commit=COMMIT,
    )
    ollama.add("llama3.2", "1b", llama)
    try:
        yield {"snapshot": snapshot, "blob": ollama.root / "blobs" / f"sha256-{sha256(llama)}"}
    finally:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)


def test_llorch_adopts_on_the_pool_in_place(keeper: Any, pool_stores: dict[str, Any]) -> None:
    dry = keeper.run("pool", "models", "adopt", "--dry-run", "--host", MAC)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.decode().splitlines()[-1] == (
        "Would adopt 2 model(s) (dry run: nothing was written)"
    )
    assert not keeper.catalog_path(MAC).exists()

    done = keeper.run("pool", "models", "adopt", "--host", MAC, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert sorted(m["id"] for m in report["adopted"]) == [
        "llama3.2-1b",
        "qwen2.5-0.5b-instruct-q4_k_m",
    ]
    entries = {m["id"]: m for m in json.loads(keeper.catalog_path(MAC).read_text())["models"]}
    qwen = entries["qwen2.5-0.5b-instruct-q4_k_m"]
    assert qwen["path"] == str(pool_stores["snapshot"] / "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    assert qwen["record"]["source"]["commit"] == COMMIT
    assert entries["llama3.2-1b"]["path"] == str(pool_stores["blob"])

    again = keeper.run("pool", "models", "adopt", "--host", MAC)
    assert (again.returncode, again.stdout.decode()) == (
        0,
        "Nothing to adopt: 2 model(s) found, all already in the catalog\n",
    )
    # The pool's own rbee-hive agrees on what it has (and `show` of an absolute path).
    show = keeper.run("pool", "models", "show", "llama3.2-1b", "--json", "--host", MAC)
    assert json.loads(show.stdout)["path"] == str(pool_stores["blob"])


def test_llorch_adopt_of_an_unknown_path_is_one_line_and_changes_nothing(
    keeper: Any, pool_stores: dict[str, Any]
) -> None:
    result = keeper.run("pool", "models", "adopt", "/srv/no such/dir", "--host", MAC)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        "error: /srv/no such/dir: no such file or folder (a SOURCE is hf, ollama, lmstudio "
        "or a path)"
    ]
    assert not keeper.catalog_path(MAC).exists()
