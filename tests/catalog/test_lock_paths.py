"""The catalog lock is keyed on the catalog's real path (issue 8 §4).

The same catalog reached through a symlinked directory is one lock: a thread that holds it through
one path takes it again through the other at once (re-entrant), and other processes wait for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rbee.catalog import ModelCatalog, ModelEntry, catalog_lock, edit_catalog, load_catalog

HOLDS_THE_LOCK_AT_ONCE = """
import sys
from rbee.catalog import CatalogLockError, catalog_lock
try:
    with catalog_lock(sys.argv[1], timeout=0.2):
        print("got it")
except CatalogLockError:
    print("waited")
"""


def test_a_symlinked_directory_is_the_same_lock(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with (
        catalog_lock(real / "catalog.json", timeout=0.5),
        catalog_lock(link / "catalog.json", timeout=0.5),
    ):
        # The same thread again, through the link: re-entrant, no wait for itself.
        for path in (real / "catalog.json", link / "catalog.json"):
            other = subprocess.run(
                [sys.executable, "-c", HOLDS_THE_LOCK_AT_ONCE, str(path)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            assert other.stdout == "waited\n"  # another process: one lock, held here
    assert not (link / "catalog.json.lock").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["catalog.json.lock"]


def test_editing_through_both_paths_in_one_transaction(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    ModelCatalog.new("pool").save(real / "catalog.json")
    with edit_catalog(real / "catalog.json", lock_timeout=0.5) as outer:
        outer.add_model(ModelEntry(id="a", name="A", architecture="llama"))
        with catalog_lock(link / "catalog.json", timeout=0.5):
            pass
    assert [m.id for m in load_catalog(link / "catalog.json").models] == ["a"]
