"""Where rbee-hive may write: inside the pool root, and folders it was not told to use never made.

- A model's relative `--path` has no `..` part (it would lead out of the pool root).
- Only the default models folder (ROOT/.test-models) is created; an explicit --catalog or
  RBEE_CATALOG in a folder that does not exist is an error naming the folder, and a catalog
  symlink to nowhere is an error too.
- A --root or RBEE_ROOT that is not a directory is an error for every command.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import HiveRunner, Result

VALID = ["--name", "A Model", "--architecture", "llama"]


def _one_error(result: Result, *fragments: str) -> str:
    assert result.code == 1, (result.code, result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.out == ""
    return lines[0]


@pytest.mark.parametrize("path", ["../../etc", "models/../../x", ".."])
def test_register_and_update_refuse_a_path_out_of_the_root(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    before = seeded.catalog_bytes()
    result = seeded.call("models", "register", "x", *VALID, "--path", path, capsys=capsys)
    _one_error(result, "model 'x'", "field 'path'", "'..'", repr(path))
    result = seeded.call("models", "update", "phi3", "--path", path, capsys=capsys)
    _one_error(result, "model 'phi3'", "field 'path'", repr(path))
    assert seeded.catalog_bytes() == before
    absolute = seeded.call("models", "update", "phi3", "--path", "/srv/models/phi3", capsys=capsys)
    assert absolute.code == 0, absolute.err


def test_a_catalog_in_a_missing_folder_is_an_error_and_nothing_is_created(
    hive: HiveRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    catalog = str(missing / "c.json")
    for command in (["models", "register", "m", *VALID], ["models", "catalog"], ["pool", "info"]):
        result = hive.call("--catalog", catalog, *command, capsys=capsys)
        _one_error(result, f"the catalog's folder {missing} does not exist", "--catalog")
    result = hive.run("models", "register", "m", *VALID, env={"RBEE_CATALOG": catalog})
    _one_error(result, str(missing), "RBEE_CATALOG")
    assert not (tmp_path / "nonexistent").exists()
    assert list(hive.pool.iterdir()) == []
    # The default models folder is still made on the first register.
    assert hive.call("models", "register", "m", *VALID, capsys=capsys).code == 0
    assert hive.catalog.is_file()


@pytest.mark.parametrize("link", ["catalog", "folder"])
def test_a_catalog_symlink_to_nowhere_is_an_error_and_nothing_is_created(
    hive: HiveRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    gone = tmp_path / "gone"
    if link == "catalog":
        (hive.pool / ".test-models").mkdir()
        hive.catalog.symlink_to(gone / "sub" / "catalog.json")
    else:
        (hive.pool / ".test-models").symlink_to(gone / "models")
    result = hive.call("models", "register", "m", *VALID, capsys=capsys)
    _one_error(result, "is a symlink to", str(gone), "does not exist")
    assert not gone.exists()


def test_saving_through_a_symlink_to_nowhere_creates_nothing(tmp_path: Path) -> None:
    from rbee.catalog import CatalogIOError, ModelCatalog

    link = tmp_path / "catalog.json"
    link.symlink_to(tmp_path / "gone" / "catalog.json")
    with pytest.raises(CatalogIOError, match="is a symlink to"):
        ModelCatalog.new("p").save(link)
    assert not (tmp_path / "gone").exists()


@pytest.mark.parametrize(
    "command",
    [["models", "catalog"], ["models", "catalog", "--json"], ["pool", "info"], ["models", "scan"]],
)
def test_a_missing_root_is_an_error_for_every_command(
    hive: HiveRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    missing = tmp_path / "nonexistent"
    result = hive.call("--root", str(missing), *command, capsys=capsys)
    _one_error(result, f"the pool root {missing} is not a directory", "--root")
    result = hive.run(*command, env={"RBEE_ROOT": str(missing)})
    _one_error(result, str(missing), "RBEE_ROOT")
    assert not missing.exists()
    assert os.listdir(hive.pool) == []


def test_an_explicit_catalog_in_the_default_models_folder_may_create_it(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `make demo` runs: --catalog .test-models/catalog.json in a fresh pool.
    result = hive.call(
        "--catalog", ".test-models/catalog.json", "models", "register", "m", *VALID, capsys=capsys
    )
    assert result.code == 0, result.err
    assert hive.catalog.is_file()
