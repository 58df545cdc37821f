"""Files on disk: load, save, backups, modes, versions, the lock and the transaction helper."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import (
    CatalogConflictError,
    CatalogCorruptError,
    CatalogError,
    CatalogInvalidError,
    CatalogIOError,
    CatalogLockError,
    CatalogNotFoundError,
    ModelCatalog,
    ModelEntry,
    ModelExistsError,
    UnsupportedVersionError,
    catalog_lock,
    edit_catalog,
    load_catalog,
    parse_catalog,
    render_catalog,
    save_catalog,
)
from rbee.catalog.storage import write_atomically
from tests.unprivileged import nobody_command

EntryFactory = Callable[..., ModelEntry]


def backup_of(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


# -- save and load ----------------------------------------------------------------------------


def test_save_then_load_round_trips(saved_catalog: Path) -> None:
    loaded = ModelCatalog.load(saved_catalog)
    assert [m.id for m in loaded.models] == ["tinyllama", "qwen-0.5b"]
    assert loaded.pool_id == "pool.test"
    again = saved_catalog.with_name("copy.json")
    loaded.save(again)
    assert ModelCatalog.load(again) == loaded


def test_saved_text_is_pretty_json_in_seed_order(saved_catalog: Path) -> None:
    text = saved_catalog.read_text(encoding="utf-8")
    assert text.startswith('{\n  "version": "1.1",\n  "pool_id": "pool.test",\n  "updated_at"')
    assert text.endswith("}\n")
    assert text == render_catalog(load_catalog(saved_catalog))
    entry = json.loads(text)["models"][0]
    assert list(entry) == [
        "id",
        "name",
        "path",
        "format",
        "size_gb",
        "architecture",
        "downloaded",
        "backends",
        "metadata",
    ]


def test_non_ascii_is_written_as_utf8(catalog_path: Path, make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("m", name="Modèle «été» 模型"))
    catalog.save(catalog_path)
    assert "Modèle «été» 模型" in catalog_path.read_text(encoding="utf-8")
    assert load_catalog(catalog_path).models[0].name == "Modèle «été» 模型"


def test_save_creates_missing_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "catalog.json"
    ModelCatalog.new("pool").save(target)
    assert load_catalog(target).pool_id == "pool"


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogNotFoundError, match="no catalog at"):
        load_catalog(tmp_path / "catalog.json")


def test_load_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogIOError, match="cannot read"):
        load_catalog(tmp_path)


def test_bom_is_accepted(catalog_path: Path, seed_text: str) -> None:
    catalog_path.parent.mkdir(parents=True)
    catalog_path.write_bytes(b"\xef\xbb\xbf" + seed_text.encode())
    assert load_catalog(catalog_path).pool_id == "mac.home.arpa"


# -- updated_at -------------------------------------------------------------------------------


def test_in_place_edit_via_find_model_mut_is_stamped_on_save(saved_catalog: Path) -> None:
    catalog = load_catalog(saved_catalog)
    before = catalog.updated_at
    entry = catalog.find_model_mut("tinyllama")
    assert entry is not None
    entry.downloaded = False
    catalog.save(saved_catalog)
    assert catalog.updated_at > before
    reloaded = load_catalog(saved_catalog)
    assert reloaded.updated_at == catalog.updated_at
    assert reloaded.get_model("tinyllama").downloaded is False


def test_metadata_edit_in_place_is_stamped(saved_catalog: Path) -> None:
    catalog = load_catalog(saved_catalog)
    before = catalog.updated_at
    catalog.get_model("qwen-0.5b").metadata["quantization"] = "Q8_0"
    catalog.save(saved_catalog)
    assert load_catalog(saved_catalog).updated_at > before


def test_saving_unchanged_catalog_keeps_updated_at(saved_catalog: Path) -> None:
    catalog = load_catalog(saved_catalog)
    before = catalog.updated_at
    catalog.save(saved_catalog)
    assert load_catalog(saved_catalog).updated_at == before


def test_untracked_load_stamps_every_save(saved_catalog: Path) -> None:
    catalog = load_catalog(saved_catalog, track_changes=False)
    before = catalog.updated_at
    catalog.get_model("tinyllama").size_gb = 1.0
    catalog.save(saved_catalog)
    assert load_catalog(saved_catalog).updated_at > before


def test_invalid_in_place_edit_is_not_saved(saved_catalog: Path) -> None:
    original = saved_catalog.read_bytes()
    catalog = load_catalog(saved_catalog)
    catalog.get_model("tinyllama").backends.append("tpu")
    with pytest.raises(CatalogInvalidError) as caught:
        catalog.save(saved_catalog)
    assert "model 'tinyllama': field 'backends[3]'" in str(caught.value)
    assert saved_catalog.read_bytes() == original


# -- atomic save, .bak and mode ----------------------------------------------------------------


def test_every_save_keeps_the_previous_file_as_bak(
    saved_catalog: Path, make_entry: EntryFactory
) -> None:
    first = saved_catalog.read_bytes()
    catalog = load_catalog(saved_catalog)
    catalog.add_model(make_entry("phi3"))
    catalog.save(saved_catalog)
    assert backup_of(saved_catalog).read_bytes() == first
    second = saved_catalog.read_bytes()
    catalog.remove_model("phi3")
    catalog.save(saved_catalog)
    assert backup_of(saved_catalog).read_bytes() == second
    assert load_catalog(backup_of(saved_catalog)).find_model("phi3") is not None


def test_first_save_has_no_bak(catalog_path: Path) -> None:
    ModelCatalog.new("pool").save(catalog_path)
    assert not backup_of(catalog_path).exists()


def test_no_temp_files_left_behind(saved_catalog: Path, make_entry: EntryFactory) -> None:
    catalog = load_catalog(saved_catalog)
    for n in range(3):
        catalog.add_model(make_entry(f"m{n}"))
        catalog.save(saved_catalog)
    names = sorted(p.name for p in saved_catalog.parent.iterdir())
    assert names == ["catalog.json", "catalog.json.bak", "catalog.json.lock"]


def test_stale_temp_files_of_killed_writers_are_cleaned(
    saved_catalog: Path, make_entry: EntryFactory
) -> None:
    stale = saved_catalog.parent / ".catalog.json.999.deadbeef.tmp"
    stale.write_text("half a catal")
    catalog = load_catalog(saved_catalog)
    catalog.add_model(make_entry("phi3"))
    catalog.save(saved_catalog)
    assert not stale.exists()


def test_saving_an_unchanged_catalog_keeps_the_file_and_its_bak(
    saved_catalog: Path, make_entry: EntryFactory
) -> None:
    first = saved_catalog.read_bytes()
    catalog = load_catalog(saved_catalog)
    catalog.add_model(make_entry("phi3"))
    catalog.save(saved_catalog)
    assert backup_of(saved_catalog).read_bytes() == first

    def snapshot() -> list[tuple[bytes, int, int]]:
        return [
            (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns)
            for path in (saved_catalog, backup_of(saved_catalog))
        ]

    before = snapshot()
    save_catalog(load_catalog(saved_catalog), saved_catalog)
    load_catalog(saved_catalog).save(saved_catalog)
    catalog.save(saved_catalog)  # the catalog that wrote the file, unchanged since
    assert snapshot() == before
    assert backup_of(saved_catalog).read_bytes() == first


def test_an_unchanged_catalog_is_still_saved_to_another_file(
    saved_catalog: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.json"
    load_catalog(saved_catalog).save(copy)
    assert copy.read_bytes() == saved_catalog.read_bytes()


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_file_mode_is_kept(saved_catalog: Path, make_entry: EntryFactory, mode: int) -> None:
    os.chmod(saved_catalog, mode)
    catalog = load_catalog(saved_catalog)
    catalog.add_model(make_entry("phi3"))
    catalog.save(saved_catalog)
    assert stat.S_IMODE(os.stat(saved_catalog).st_mode) == mode


def test_write_atomically_replaces_the_inode(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("old")
    reader = target.open()  # a reader holding the old file keeps reading the old content
    write_atomically(target, b"new")
    assert reader.read() == "old"
    reader.close()
    assert target.read_text() == "new"
    assert backup_of(target).read_text() == "old"


# -- a bad catalog is never overwritten ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line", "column", "words"),
    [
        (b'{\n  "version": "1.0",\n  "pool_id": \n}', 4, 1, "invalid JSON: Expecting value"),
        (b'{"version": "1.0",\n "x": NaN}', 2, 7, "NaN is not a JSON number"),
        (b'{"a": "NaN",\n "x": [1, -Infinity]}', 2, 11, "-Infinity is not a JSON number"),
        (b'{\n\n "x": 1' + b"0" * 4400 + b"}", 3, 7, "a number has more than 4300 digits"),
        (b"", 0, 0, "not a valid catalog: the file is empty;"),
        (b" \n\n", 0, 0, "not a valid catalog: the file is empty;"),
        (
            b'{"pool_id": "p\n',
            1,
            15,
            "invalid JSON: Invalid control character at line 1, column 15",
        ),
        (b'{\n "pool_id": "p', 2, 13, "Unterminated string starting at line 2, column 13"),
        (b'{\n "pool_id": "caf\xe9"}', 2, 17, "not UTF-8"),
    ],
)
def test_corrupt_file_error_names_file_line_column_and_backup(
    saved_catalog: Path, content: bytes, line: int, column: int, words: str
) -> None:
    shutil.copy(saved_catalog, backup_of(saved_catalog))
    saved_catalog.write_bytes(content)
    with pytest.raises(CatalogCorruptError) as caught:
        load_catalog(saved_catalog)
    message = str(caught.value)
    assert str(saved_catalog) in message
    if column:
        assert f"{saved_catalog}:{line}:{column}:" in message
        assert (caught.value.line, caught.value.column) == (line, column)
    assert words in message
    assert f"the previous version is in {backup_of(saved_catalog)}" in message
    assert "\n" not in message


def test_corrupt_file_without_backup_says_nothing_about_one(catalog_path: Path) -> None:
    catalog_path.parent.mkdir(parents=True)
    catalog_path.write_text("{")
    with pytest.raises(CatalogCorruptError) as caught:
        load_catalog(catalog_path)
    assert "previous version" not in str(caught.value)


def test_invalid_file_error_names_file_model_field_and_backup(
    saved_catalog: Path, seed_document: dict[str, Any]
) -> None:
    shutil.copy(saved_catalog, backup_of(saved_catalog))
    seed_document["models"][0]["format"] = "onnx"
    write_json(saved_catalog, seed_document)
    with pytest.raises(CatalogInvalidError) as caught:
        load_catalog(saved_catalog)
    assert str(caught.value) == (
        f"{saved_catalog}: model 'tinyllama': field 'format': must be one of safetensors, gguf, "
        f"got 'onnx'; the file was left untouched "
        f"(the previous version is in {backup_of(saved_catalog)})"
    )


@pytest.mark.parametrize("content", [b"{ not json", b'{"version": "1.0"}', b'{"version": "9.0"}'])
def test_edit_never_replaces_an_unreadable_catalog(
    catalog_path: Path, make_entry: EntryFactory, content: bytes
) -> None:
    catalog_path.parent.mkdir(parents=True)
    catalog_path.write_bytes(content)
    with (
        pytest.raises(CatalogError),
        edit_catalog(catalog_path, create_pool_id="pool") as catalog,
    ):
        catalog.add_model(make_entry("phi3"))
    assert catalog_path.read_bytes() == content
    assert not backup_of(catalog_path).exists()


@pytest.mark.parametrize("content", [b"{ not json", b'{"version": "1.0"}', b'{"version": "9.0"}'])
def test_a_new_catalog_is_not_saved_over_an_unreadable_one(
    catalog_path: Path, make_entry: EntryFactory, content: bytes
) -> None:
    # The seed's bug: load fails, so a fresh catalog is created and saved over the old file.
    catalog_path.parent.mkdir(parents=True)
    catalog_path.write_bytes(content)
    fresh = ModelCatalog.new("pool")
    fresh.add_model(make_entry("phi3"))
    with pytest.raises(CatalogError) as caught:
        fresh.save(catalog_path)
    assert str(catalog_path) in str(caught.value)
    assert catalog_path.read_bytes() == content


def test_a_new_catalog_may_replace_a_readable_one(saved_catalog: Path) -> None:
    ModelCatalog.new("other").save(saved_catalog)
    assert load_catalog(saved_catalog).pool_id == "other"
    assert load_catalog(backup_of(saved_catalog)).pool_id == "pool.test"


def test_save_notices_a_file_replaced_since_load(saved_catalog: Path) -> None:
    catalog = load_catalog(saved_catalog)
    saved_catalog.write_text("garbage")
    with pytest.raises(CatalogCorruptError):
        catalog.save(saved_catalog)
    assert saved_catalog.read_text() == "garbage"


def test_save_refuses_to_drop_a_concurrent_save(
    saved_catalog: Path, make_entry: EntryFactory
) -> None:
    mine = load_catalog(saved_catalog)
    theirs = load_catalog(saved_catalog)
    theirs.add_model(make_entry("phi3"))
    theirs.save(saved_catalog)
    after_their_save = saved_catalog.read_bytes()
    mine.add_model(make_entry("mistral"))
    with pytest.raises(CatalogConflictError, match="changed by another process"):
        mine.save(saved_catalog)
    assert saved_catalog.read_bytes() == after_their_save
    reloaded = load_catalog(saved_catalog)
    reloaded.add_model(make_entry("mistral"))
    reloaded.save(saved_catalog)
    assert {"phi3", "mistral"} <= {m.id for m in load_catalog(saved_catalog).models}


# -- versions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.42"])
def test_any_1x_loads_and_keeps_new_fields(
    catalog_path: Path, seed_document: dict[str, Any], version: str
) -> None:
    seed_document["version"] = version
    seed_document["labels"] = ["added", "in", version]
    seed_document["models"][0]["sha256"] = "ab" * 32
    write_json(catalog_path, seed_document)
    catalog = load_catalog(catalog_path)
    assert catalog.version == version
    catalog.save(catalog_path)
    assert json.loads(catalog_path.read_text()) == seed_document


@pytest.mark.parametrize("version", ["2.0", "10.3"])
def test_newer_major_is_refused_with_upgrade_hint(
    catalog_path: Path, seed_document: dict[str, Any], version: str
) -> None:
    seed_document["version"] = version
    write_json(catalog_path, seed_document)
    with pytest.raises(UnsupportedVersionError) as caught:
        load_catalog(catalog_path)
    message = str(caught.value)
    assert f"version {version} is newer" in message
    assert "upgrade rbee" in message
    assert str(catalog_path) in message


def test_versionless_document_is_migrated(
    catalog_path: Path, seed_document: dict[str, Any], make_entry: EntryFactory
) -> None:
    del seed_document["version"]
    write_json(catalog_path, seed_document)
    catalog = load_catalog(catalog_path)
    assert catalog.version == "1.1"
    assert catalog.migrated_from == "0.0"
    assert catalog.get_model("tinyllama").metadata["context_length"] == 2048
    catalog.add_model(make_entry("phi3"))
    catalog.save(catalog_path)
    assert json.loads(catalog_path.read_text())["version"] == "1.1"


@pytest.mark.parametrize("version", [None, "1.0"])
def test_migrated_catalog_is_written_in_the_current_format_by_a_plain_save(
    catalog_path: Path, seed_document: dict[str, Any], version: str | None
) -> None:
    # Nothing else changes: load + save still writes the current format (it used to leave
    # a version-less file without a version, because the unchanged-save rule saw no change).
    if version is None:
        del seed_document["version"]
    else:
        seed_document["version"] = version
    write_json(catalog_path, seed_document)
    load_catalog(catalog_path).save(catalog_path)
    written = json.loads(catalog_path.read_text())
    assert written["version"] == "1.1"
    assert written["models"] == seed_document["models"]
    with edit_catalog(catalog_path):
        pass  # now current: a no-op edit writes nothing
    assert json.loads(catalog_path.read_text()) == written


def test_newer_minor_keeps_backends_this_rbee_does_not_know(
    catalog_path: Path, seed_document: dict[str, Any], make_entry: EntryFactory
) -> None:
    seed_document["version"] = "1.7"
    seed_document["models"][0]["backends"] = ["cpu", "opencl"]
    write_json(catalog_path, seed_document)
    with edit_catalog(catalog_path) as catalog:
        assert catalog.get_model("tinyllama").backends == ["cpu", "opencl"]
        catalog.add_model(make_entry("phi3"))
    written = json.loads(catalog_path.read_text())
    assert written["version"] == "1.7"
    assert written["models"][0]["backends"] == ["cpu", "opencl"]
    seed_document["version"] = "1.1"  # the same backend in a document of our own version
    write_json(catalog_path, seed_document)
    with pytest.raises(CatalogInvalidError, match="opencl"):
        load_catalog(catalog_path)


@pytest.mark.parametrize("version", ["0.9", "0.0"])
def test_unknown_older_versions(
    catalog_path: Path, seed_document: dict[str, Any], version: str
) -> None:
    seed_document["version"] = version
    write_json(catalog_path, seed_document)
    if version == "0.0":  # what a missing version means: a pre-1.0 draft, migrated
        assert load_catalog(catalog_path).version == "1.1"
    else:
        with pytest.raises(CatalogInvalidError, match="not a catalog format this rbee knows"):
            load_catalog(catalog_path)


# -- edit_catalog -------------------------------------------------------------------------------


def test_edit_catalog_saves_changes(saved_catalog: Path, make_entry: EntryFactory) -> None:
    with edit_catalog(saved_catalog) as catalog:
        catalog.add_model(make_entry("phi3"))
    assert load_catalog(saved_catalog).find_model("phi3") is not None


def test_edit_catalog_saves_nothing_if_the_block_raises(
    saved_catalog: Path, make_entry: EntryFactory
) -> None:
    original = saved_catalog.read_bytes()

    def add_twice() -> None:
        with edit_catalog(saved_catalog) as catalog:
            catalog.add_model(make_entry("phi3"))
            catalog.add_model(make_entry("tinyllama"))

    with pytest.raises(ModelExistsError):
        add_twice()
    assert saved_catalog.read_bytes() == original
    assert not backup_of(saved_catalog).exists()


def test_edit_catalog_without_changes_writes_nothing(saved_catalog: Path) -> None:
    before = os.stat(saved_catalog)
    with edit_catalog(saved_catalog) as catalog:
        assert catalog.find_model("tinyllama") is not None
    after = os.stat(saved_catalog)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_edit_catalog_validates_in_place_edits(saved_catalog: Path) -> None:
    original = saved_catalog.read_bytes()

    def break_architecture() -> None:
        with edit_catalog(saved_catalog) as catalog:
            entry = catalog.find_model_mut("tinyllama")
            assert entry is not None
            entry.architecture = "Not A Token"

    with pytest.raises(CatalogInvalidError, match="architecture"):
        break_architecture()
    assert saved_catalog.read_bytes() == original


def test_edit_catalog_creates_only_when_asked(catalog_path: Path, make_entry: EntryFactory) -> None:
    with pytest.raises(CatalogNotFoundError), edit_catalog(catalog_path):
        pass
    assert not catalog_path.exists()
    assert not catalog_path.with_name("catalog.json.lock").exists()
    assert not catalog_path.parent.exists()
    with edit_catalog(catalog_path, create_pool_id="mac.home.arpa") as catalog:
        catalog.add_model(make_entry("phi3"))
    loaded = load_catalog(catalog_path)
    assert loaded.pool_id == "mac.home.arpa"
    assert [m.id for m in loaded.models] == ["phi3"]


def test_edit_catalog_is_reentrant_in_one_thread(
    saved_catalog: Path, make_entry: EntryFactory
) -> None:
    with edit_catalog(saved_catalog) as outer:
        outer.add_model(make_entry("phi3"))
        with catalog_lock(saved_catalog, timeout=1):
            pass
    assert load_catalog(saved_catalog).find_model("phi3") is not None


# -- the lock -----------------------------------------------------------------------------------

HOLD_LOCK = """
import sys
from rbee.catalog import catalog_lock
with catalog_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def lock_held_elsewhere(saved_catalog: Path, python: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the catalog's lock until its stdin is closed."""
    holder = subprocess.Popen(
        [python, "-c", HOLD_LOCK, str(saved_catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    yield holder
    if holder.poll() is None:
        holder.kill()
    holder.wait()


def test_lock_excludes_other_processes(
    saved_catalog: Path, lock_held_elsewhere: subprocess.Popen[str], make_entry: EntryFactory
) -> None:
    original = saved_catalog.read_bytes()
    with (
        pytest.raises(CatalogLockError, match="another rbee process is writing"),
        edit_catalog(saved_catalog, lock_timeout=0.3) as catalog,
    ):
        catalog.add_model(make_entry("phi3"))
    assert saved_catalog.read_bytes() == original
    assert lock_held_elsewhere.stdin is not None
    lock_held_elsewhere.stdin.close()
    lock_held_elsewhere.wait(timeout=30)
    with edit_catalog(saved_catalog, lock_timeout=5) as catalog:
        catalog.add_model(make_entry("phi3"))
    assert load_catalog(saved_catalog).find_model("phi3") is not None


def test_reads_do_not_wait_for_the_lock(
    saved_catalog: Path, lock_held_elsewhere: subprocess.Popen[str]
) -> None:
    assert len(load_catalog(saved_catalog).models) == 2


def test_lock_file_is_separate_and_kept(saved_catalog: Path) -> None:
    lock = saved_catalog.with_name("catalog.json.lock")
    with catalog_lock(saved_catalog):
        assert lock.exists()
    assert lock.exists()
    assert load_catalog(saved_catalog).pool_id == "pool.test"


# -- unreadable and unwritable places (as an unprivileged user: root ignores modes) -------------

TRY_AS_NOBODY = """
import sys
from rbee.catalog import CatalogError, ModelCatalog, load_catalog
try:
    if sys.argv[1] == "load":
        load_catalog(sys.argv[2])
    else:
        ModelCatalog.new("pool").save(sys.argv[2])
except CatalogError as exc:
    print(type(exc).__name__, exc)
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory an unprivileged user can reach (tmp_path's parents are private)."""
    directory = Path(tempfile.mkdtemp(prefix="rbee-catalog-"))
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory)


def run_as_nobody(python: str, action: str, path: Path) -> str:
    # `python` is the venv's, which nobody may not reach: a world-readable copy runs instead.
    result = subprocess.run(
        nobody_command("-c", TRY_AS_NOBODY, action, str(path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_unreadable_catalog_is_a_catalog_io_error(shared_dir: Path, python: str) -> None:
    catalog = shared_dir / "catalog.json"
    ModelCatalog.new("pool").save(catalog)
    os.chmod(catalog, 0o600)
    assert run_as_nobody(python, "load", catalog) == (
        f"CatalogIOError cannot read {catalog}: Permission denied"
    )


def test_unwritable_directory_is_a_catalog_io_error(shared_dir: Path, python: str) -> None:
    catalog = shared_dir / "catalog.json"
    output = run_as_nobody(python, "save", catalog)
    assert output.startswith("CatalogIOError cannot ")
    assert "Permission denied" in output
    assert not catalog.exists()


LOCK_AS_NOBODY = """
import sys
from rbee.catalog import CatalogError, ModelEntry, edit_catalog
try:
    with edit_catalog(sys.argv[1], create_pool_id="pool", lock_timeout=float(sys.argv[2])) as c:
        c.add_model(ModelEntry(id="phi3", name="Phi-3", architecture="phi3"))
    print("saved")
except CatalogError as exc:
    print(type(exc).__name__, exc)
"""


def test_a_lock_file_of_another_user_still_locks(shared_dir: Path, python: str) -> None:
    # After `sudo rbee-hive ...` the lock file belongs to root, and others may only read it.
    os.chmod(shared_dir, 0o777)
    catalog = shared_dir / "catalog.json"
    lock = catalog.with_name("catalog.json.lock")
    with catalog_lock(catalog):
        pass
    assert lock.stat().st_uid == os.getuid() == 0
    assert stat.S_IMODE(lock.stat().st_mode) == 0o644

    def edit_as_nobody(lock_timeout: float = 30) -> str:
        return subprocess.run(
            nobody_command("-c", LOCK_AS_NOBODY, str(catalog), str(lock_timeout)),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()

    with catalog_lock(catalog):  # held here: the other user must wait for it, and give up
        assert edit_as_nobody(lock_timeout=0.2).startswith("CatalogLockError timed out")
    assert not catalog.exists()
    assert edit_as_nobody() == "saved"
    assert load_catalog(catalog).find_model("phi3") is not None
    os.chmod(lock, 0o600)
    catalog.unlink()
    assert edit_as_nobody() == (
        f"CatalogIOError cannot open the lock file {lock}: Permission denied"
    )


# -- messages are one line ----------------------------------------------------------------------


def test_message_with_newline_in_path_stays_one_line(tmp_path: Path) -> None:
    directory = tmp_path / "bad\nname"
    directory.mkdir()
    (directory / "catalog.json").write_text("{")
    with pytest.raises(CatalogCorruptError) as caught:
        load_catalog(directory / "catalog.json")
    assert "\n" not in str(caught.value)
    assert "bad\\x0aname" in str(caught.value)


def test_parse_catalog_without_a_path(seed_text: str) -> None:
    assert parse_catalog(seed_text.encode()).pool_id == "mac.home.arpa"
    with pytest.raises(CatalogCorruptError, match=r"^catalog:1:2: not a valid catalog"):
        parse_catalog(b"{]")


def test_save_catalog_function(catalog_path: Path) -> None:
    save_catalog(ModelCatalog.new("pool"), catalog_path)
    assert load_catalog(catalog_path).pool_id == "pool"


def test_noop_edit_leaves_a_hand_formatted_file_alone(
    catalog_path: Path, seed_document: dict[str, Any]
) -> None:
    catalog_path.parent.mkdir(parents=True)
    seed_document["version"] = "1.1"  # current: nothing to migrate
    catalog_path.write_text(json.dumps(seed_document, separators=(",", ":")))
    original = catalog_path.read_bytes()
    with edit_catalog(catalog_path) as catalog:
        catalog.get_model("tinyllama").metadata["quantization"] = "Q4_K_M"  # same value
    assert catalog_path.read_bytes() == original


def test_in_place_edit_of_a_hand_formatted_file_is_stamped(
    catalog_path: Path, seed_document: dict[str, Any]
) -> None:
    catalog_path.parent.mkdir(parents=True)
    catalog_path.write_text(json.dumps(seed_document, separators=(",", ":")))
    with edit_catalog(catalog_path) as catalog:
        catalog.get_model("tinyllama").metadata["quantization"] = "Q8_0"
    saved = json.loads(catalog_path.read_text())
    assert saved["models"][0]["metadata"]["quantization"] == "Q8_0"
    assert saved["updated_at"] > seed_document["updated_at"]


def test_changed_since_saved(saved_catalog: Path, make_entry: EntryFactory) -> None:
    catalog = load_catalog(saved_catalog)
    assert not catalog.changed_since_saved()
    catalog.get_model("tinyllama").name = "Renamed"
    assert catalog.changed_since_saved()
    catalog.mark_saved()
    assert not catalog.changed_since_saved()
    catalog.add_model(make_entry("phi3"))
    assert catalog.changed_since_saved()
    assert load_catalog(saved_catalog, track_changes=False).changed_since_saved()


def test_a_symlinked_catalog_stays_a_symlink(tmp_path: Path, make_entry: EntryFactory) -> None:
    real = tmp_path / "shared" / "catalog.json"
    ModelCatalog.new("pool").save(real)
    link = tmp_path / "pool" / "catalog.json"
    link.parent.mkdir()
    link.symlink_to(real)
    with edit_catalog(link) as catalog:
        catalog.add_model(make_entry("phi3"))
    assert link.is_symlink()
    assert load_catalog(real).find_model("phi3") is not None
    assert backup_of(real).exists()
    assert not backup_of(link).exists()


def test_write_atomically_takes_a_str_path(tmp_path: Path) -> None:
    write_atomically(str(tmp_path / "file.json"), b"{}")
    assert (tmp_path / "file.json").read_bytes() == b"{}"


@pytest.mark.parametrize("name", ["models", "pool_id"])
def test_unknown_fields_cannot_shadow_known_ones(name: str, make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.extra = {name: []}
    with pytest.raises(CatalogInvalidError, match=f"'{name}' is a catalog field"):
        catalog.validate()
    entry = make_entry("phi3")
    entry.extra = {"backends": ["tpu"]}
    with pytest.raises(CatalogInvalidError, match="'backends' is a catalog field"):
        entry.validate()
