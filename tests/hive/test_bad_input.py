"""Bad input: exit code, one `error: ...` line naming the problem, and the catalog untouched.

Each case runs against the seed's four-model catalog and checks that the catalog file is
byte-identical afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import HiveRunner, Result


def _assert_one_error_line(result: Result, code: int, *fragments: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.err


REGISTER = ["models", "register"]
VALID = ["--name", "A Model", "--architecture", "llama"]

# (case, arguments, exit code, fragments of the message)
CASES = [
    (
        "duplicate id with other fields",
        [*REGISTER, "tinyllama", "--name", "Another", "--architecture", "llama"],
        1,
        ["'tinyllama' is already registered with different fields", "name"],
    ),
    ("unknown id (show)", ["models", "show", "nope"], 1, ["model 'nope' is not in the catalog"]),
    (
        "unknown id (update)",
        ["models", "update", "nope", "--name", "X"],
        1,
        ["model 'nope' is not in the catalog"],
    ),
    (
        "unknown id (unregister, all or nothing)",
        ["models", "unregister", "phi3", "nope"],
        1,
        ["model 'nope' is not in the catalog"],
    ),
    ("id with a path", [*REGISTER, "../x", *VALID], 1, ["field 'id'", "'../x'"]),
    ("id with a space", [*REGISTER, "a b", *VALID], 1, ["field 'id'", "'a b'"]),
    ("id starting with a dash", [*REGISTER, *VALID, "--", "-x"], 1, ["field 'id'", "'-x'"]),
    ("id that looks like an option", [*REGISTER, "-x", *VALID], 2, ["-x"]),
    (
        "empty name",
        [*REGISTER, "m", "--name", "", "--architecture", "llama"],
        1,
        ["field 'name'", "non-empty"],
    ),
    (
        "unknown backend",
        [*REGISTER, "m", *VALID, "--backend", "opencl"],
        2,
        ["--backend", "'opencl'"],
    ),
    ("unknown format", [*REGISTER, "m", *VALID, "--format", "bin"], 2, ["--format", "'bin'"]),
    (
        "malformed repo",
        [*REGISTER, "m", *VALID, "--repo", "not a repo"],
        1,
        ["metadata.repo", "owner/name"],
    ),
    ("negative size", [*REGISTER, "m", *VALID, "--size-gb", "-1"], 1, ["size_gb", ">= 0"]),
    ("non-numeric size", [*REGISTER, "m", *VALID, "--size-gb", "big"], 2, ["--size-gb", "'big'"]),
    (
        "negative context length",
        [*REGISTER, "m", *VALID, "--context-length", "-5"],
        1,
        ["metadata.context_length", "positive integer"],
    ),
    (
        "non-numeric vocab size",
        [*REGISTER, "m", *VALID, "--vocab-size", "lots"],
        2,
        ["--vocab-size", "'lots'"],
    ),
    (
        "update to a negative size",
        ["models", "update", "phi3", "--size-gb", "-3"],
        1,
        ["size_gb"],
    ),
    (
        "update to an empty name",
        ["models", "update", "phi3", "--name", ""],
        1,
        ["field 'name'"],
    ),
    ("update without fields", ["models", "update", "phi3"], 2, ["nothing to update"]),
    (
        "non-numeric context length",
        [*REGISTER, "m", *VALID, "--context-length", "long"],
        2,
        ["--context-length", "'long'"],
    ),
    (
        "zero context length",
        [*REGISTER, "m", *VALID, "--context-length", "0"],
        1,
        ["metadata.context_length", "positive integer"],
    ),
    (
        "negative vocab size",
        [*REGISTER, "m", *VALID, "--vocab-size", "-1"],
        1,
        ["metadata.vocab_size", "positive integer"],
    ),
    ("not-a-number size", [*REGISTER, "m", *VALID, "--size-gb", "nan"], 1, ["size_gb", "nan"]),
    (
        "update to a malformed repo",
        ["models", "update", "phi3", "--repo", "../etc"],
        1,
        ["metadata.repo", "owner/name"],
    ),
    (
        "update to an unknown format",
        ["models", "update", "phi3", "--format", "onnx"],
        2,
        ["--format", "'onnx'"],
    ),
    (
        "update to an unknown backend",
        ["models", "update", "phi3", "--backend", "opencl"],
        2,
        ["--backend", "'opencl'"],
    ),
    ("scan of an unknown id", ["models", "scan", "phi3", "nope"], 1, ["'nope' is not in"]),
    ("empty --catalog", ["--catalog", "", *REGISTER, "m", *VALID], 2, ["--catalog needs a value"]),
    ("empty --root", [*REGISTER, "m", *VALID, "--root", ""], 2, ["--root needs a value"]),
    ("empty --pool-id", [*REGISTER, "m", *VALID, "--pool-id="], 2, ["--pool-id needs a value"]),
    ("register without a name", [*REGISTER, "m", "--architecture", "llama"], 2, ["--name"]),
]


@pytest.mark.parametrize(
    ("arguments", "code", "fragments"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_command_line_changes_nothing(
    seeded: HiveRunner,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    code: int,
    fragments: list[str],
) -> None:
    before = seeded.catalog_bytes()
    result = seeded.call(*arguments, capsys=capsys)
    _assert_one_error_line(result, code, *fragments)
    assert result.out == ""
    assert seeded.catalog_bytes() == before


def test_bad_command_line_through_the_console_script(seeded: HiveRunner) -> None:
    before = seeded.catalog_bytes()
    result = seeded.run("models", "register", "m", *VALID, "--backend", "opencl")
    _assert_one_error_line(result, 2, "invalid choice: 'opencl'")
    result = seeded.run("models", "register", "../x", *VALID)
    _assert_one_error_line(result, 1, "field 'id'")
    assert seeded.catalog_bytes() == before


def _seed_document(seeded: HiveRunner) -> dict[str, object]:
    document: dict[str, object] = json.loads(seeded.catalog.read_text())
    return document


BROKEN_CATALOGS = [
    ("invalid JSON", lambda text: text[:-20], ["not a valid catalog", "invalid JSON"]),
    (
        "wrong field type",
        lambda text: text.replace('"size_gb": 0.0', '"size_gb": "big"', 1),
        ["size_gb", "must be a number"],
    ),
    (
        "newer major version",
        lambda text: text.replace('"version": "1.1"', '"version": "2.0"', 1),
        ["version 2.0 is newer than this rbee supports"],
    ),
]


@pytest.mark.parametrize(
    ("break_text", "fragments"),
    [case[1:] for case in BROKEN_CATALOGS],
    ids=[case[0] for case in BROKEN_CATALOGS],
)
@pytest.mark.parametrize(
    "arguments",
    [
        ["models", "catalog"],
        ["models", "catalog", "--json"],
        ["models", "show", "phi3"],
        ["models", "register", "m", *VALID],
        ["models", "register", "--from", "EXAMPLES"],
        ["models", "update", "phi3", "--name", "New"],
        ["models", "unregister", "phi3"],
        ["models", "scan"],
        ["models", "scan", "--dry-run"],
    ],
    ids=[
        "catalog",
        "catalog-json",
        "show",
        "register",
        "register-from",
        "update",
        "unregister",
        "scan",
        "scan-dry-run",
    ],
)
def test_a_broken_catalog_is_an_error_and_left_untouched(
    seeded: HiveRunner,
    capsys: pytest.CaptureFixture[str],
    break_text: object,
    fragments: list[str],
    arguments: list[str],
) -> None:
    from .conftest import EXAMPLES

    assert callable(break_text)
    seeded.catalog.write_text(break_text(seeded.catalog.read_text()))
    before = seeded.catalog_bytes()
    arguments = [str(EXAMPLES) if a == "EXAMPLES" else a for a in arguments]
    result = seeded.call(*arguments, capsys=capsys)
    _assert_one_error_line(result, 1, str(Path(".test-models/catalog.json")), *fragments)
    assert "No catalog found" not in result.err
    assert result.out == ""
    assert seeded.catalog_bytes() == before


def test_a_from_file_with_one_bad_entry_registers_nothing(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "models.toml"
    listing.write_text(
        '[[models]]\nid = "good-one"\nname = "Good"\narchitecture = "llama"\n\n'
        '[[models]]\nid = "bad-one"\nname = "Bad"\narchitecture = "llama"\n'
        'backends = ["cpu", "opencl"]\n'
    )
    before = seeded.catalog_bytes()
    result = seeded.call("models", "register", "--from", str(listing), capsys=capsys)
    _assert_one_error_line(
        result, 1, str(listing), "entry 2 ('bad-one')", "backends[1]", "'opencl'"
    )
    assert seeded.catalog_bytes() == before


def test_a_from_file_conflicting_with_the_catalog_registers_nothing(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "models.json"
    listing.write_text(
        json.dumps(
            [
                {"id": "new-one", "name": "New", "architecture": "llama"},
                {"id": "phi3", "name": "Phi-3 but renamed", "architecture": "phi3"},
            ]
        )
    )
    before = seeded.catalog_bytes()
    result = seeded.call("models", "register", "--from", str(listing), capsys=capsys)
    _assert_one_error_line(
        result,
        1,
        "model 'phi3' is already registered with different fields (name)",
        f"nothing from {listing} was registered",
    )
    assert seeded.catalog_bytes() == before


def test_a_catalog_that_cannot_be_read(shared_pool: HiveRunner) -> None:
    assert shared_pool.run("models", "register", "m", *VALID).code == 0
    shared_pool.catalog.parent.chmod(0o755)
    shared_pool.catalog.chmod(0o600)
    before = shared_pool.catalog_bytes()
    for arguments in (["models", "catalog"], ["models", "register", "n", *VALID]):
        result = shared_pool.run(*arguments, user="nobody")
        _assert_one_error_line(result, 1, "catalog.json", "Permission denied")
        assert "No catalog found" not in result.err
    assert shared_pool.catalog_bytes() == before


def test_a_catalog_directory_that_cannot_be_written(shared_pool: HiveRunner) -> None:
    assert shared_pool.run("models", "register", "m", *VALID).code == 0
    shared_pool.catalog.parent.chmod(0o755)
    shared_pool.catalog.chmod(0o644)
    before = shared_pool.catalog_bytes()
    # Reading still works for the other user...
    listed = shared_pool.run("models", "catalog", "-q", user="nobody")
    assert (listed.code, listed.out) == (0, "m\n")
    # ...writing does not, and says where.
    for arguments in (
        ["models", "register", "n", *VALID],
        ["models", "unregister", "m"],
        ["models", "update", "m", "--name", "New"],
    ):
        result = shared_pool.run(*arguments, user="nobody")
        _assert_one_error_line(result, 1, ".test-models", "Permission denied")
    assert shared_pool.catalog_bytes() == before
    assert sorted(p.name for p in shared_pool.catalog.parent.iterdir() if "tmp" in p.name) == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["models", "unregister", "phi3"],
        ["models", "unregister", "phi3", "--missing-ok"],
        ["models", "update", "phi3", "--name", "New"],
        ["models", "scan"],
        ["models", "show", "phi3"],
    ],
    ids=["unregister", "unregister-missing-ok", "update", "scan", "show"],
)
def test_without_a_catalog_changing_an_entry_is_an_error_that_creates_nothing(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    # Only `register` creates a catalog; the others must not leave a directory or lock behind.
    result = hive.call(*arguments, capsys=capsys)
    _assert_one_error_line(result, 1, "no catalog at", str(Path(".test-models/catalog.json")))
    assert result.out == ""
    assert list(hive.pool.iterdir()) == []


def test_hostile_metadata_in_a_catalog_is_shown_escaped(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    # A catalog edited by hand (or a --from list) may carry free-form metadata values.
    document = json.loads(seeded.catalog.read_text())
    document["models"][0]["metadata"]["note"] = "\x1b]0;PWNED\x07\x9b2J\u202e"
    document["models"][0]["metadata"]["extra"] = {"k": "\x85"}
    seeded.catalog.write_text(json.dumps(document))
    result = seeded.call("--color", "never", "models", "show", "tinyllama", capsys=capsys)
    assert result.code == 0, result.err
    for control in ("\x1b", "\x07", "\x9b", "\u202e", "\x85"):
        assert control not in result.out
    assert "metadata.note   \\x1b]0;PWNED\\x07\\x9b2J\\u202e" in result.out
    assert '{"k": "\\x85"}' in result.out


LIST_CASES = [
    ("unknown format", 'format = "onnx"', ["format", "'onnx'"]),
    ("malformed repo", 'metadata = { repo = "no slash" }', ["metadata.repo", "owner/name"]),
    ("negative size", "size_gb = -2.5", ["size_gb", ">= 0"]),
    ("size as text", 'size_gb = "2 GB"', ["size_gb", "number"]),
    ("id with a path", None, ["id", "'../x'"]),
    ("empty name", 'name = ""', ["name", "non-empty"]),
]


@pytest.mark.parametrize(
    ("bad_line", "fragments"),
    [case[1:] for case in LIST_CASES],
    ids=[case[0] for case in LIST_CASES],
)
def test_one_bad_entry_in_the_middle_of_a_list_registers_nothing(
    seeded: HiveRunner,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bad_line: str | None,
    fragments: list[str],
) -> None:
    entries = []
    for number in (1, 2, 3):
        model_id = "../x" if number == 2 and bad_line is None else f"new-{number}"
        lines = [f'id = "{model_id}"', 'architecture = "llama"']
        if number == 2 and bad_line is not None:
            lines.append(bad_line)
        if not (number == 2 and bad_line == 'name = ""'):
            lines.append(f'name = "New {number}"')
        entries.append("[[models]]\n" + "\n".join(lines) + "\n")
    listing = tmp_path / "models.toml"
    listing.write_text("\n".join(entries))
    before = seeded.catalog_bytes()
    result = seeded.call("models", "register", "--from", str(listing), capsys=capsys)
    _assert_one_error_line(result, 1, str(listing), "entry 2", *fragments)
    assert result.out == ""
    assert seeded.catalog_bytes() == before


def test_a_catalog_symlink_to_nowhere_is_no_catalog_and_creates_nothing(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    hive.catalog.parent.mkdir()
    hive.catalog.symlink_to("moved-away.json")
    for arguments in (["models", "unregister", "phi3"], ["models", "update", "x", "--name", "Y"]):
        result = hive.call(*arguments, capsys=capsys)
        _assert_one_error_line(result, 1, "no catalog at")
    assert sorted(p.name for p in hive.catalog.parent.iterdir()) == ["catalog.json"]


def test_a_catalog_hidden_behind_a_closed_directory_is_not_no_catalog(
    shared_pool: HiveRunner,
) -> None:
    assert shared_pool.run("models", "register", "m", *VALID).code == 0
    shared_pool.catalog.parent.chmod(0o700)  # nobody cannot even look inside
    before = shared_pool.catalog_bytes()
    for arguments in (["models", "unregister", "m"], ["models", "update", "m", "--name", "N"]):
        result = shared_pool.run(*arguments, user="nobody")
        _assert_one_error_line(result, 1, ".test-models", "Permission denied")
        assert "no catalog" not in result.err
    assert shared_pool.catalog_bytes() == before
