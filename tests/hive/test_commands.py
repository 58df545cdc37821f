"""What each `rbee-hive models` command does, as a user sees it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLES, REPO, HiveRunner

VALID = ["--name", "A Model", "--architecture", "llama"]


def _json(text: str) -> Any:
    return json.loads(text)


# -- where the catalog is -------------------------------------------------------------------------


def test_no_catalog_is_a_hint_and_success(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    result = hive.call("models", "catalog", capsys=capsys)
    assert (result.code, result.out) == (0, "")
    assert result.err == (
        "No catalog found at .test-models/catalog.json. "
        "Create one with 'rbee-hive models register'\n"
    )
    assert not hive.catalog.exists()


def test_no_catalog_json_invents_nothing(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    # No pool id and no update time that no catalog holds (issue 8 §2): the document's keys,
    # with null for what does not exist, and the help text says so.
    for before, after in (([], []), (["--pool-id", "blep.home.arpa"], ["--arch", "llama"])):
        result = hive.call(*before, "models", "catalog", "--json", *after, capsys=capsys)
        assert result.code == 0
        from rbee.catalog import SCHEMA_VERSION

        assert _json(result.out) == {
            "version": SCHEMA_VERSION,
            "pool_id": None,
            "updated_at": None,
            "models": [],
        }
        assert "No catalog found" in result.err
    assert not hive.catalog.exists()
    catalog_help = hive.call("models", "catalog", "--help", capsys=capsys).out
    assert '{"version": "X.Y", "pool_id": null, "updated_at": null, "models": []}' in " ".join(
        catalog_help.split()
    )


def test_new_catalog_takes_the_host_name_without_dns(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hive.call("models", "register", "m", *VALID, capsys=capsys).code == 0
    assert _json(hive.catalog.read_text())["pool_id"] == os.uname().nodename


def test_pool_id_from_the_environment_and_the_option_wins(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RBEE_POOL_ID", "from-env")
    flagged = hive.pool / "flagged.json"
    hive.call(
        "models",
        "register",
        "m",
        *VALID,
        "--catalog",
        str(flagged),
        "--pool-id",
        "from-flag",
        capsys=capsys,
    )
    assert _json(flagged.read_text())["pool_id"] == "from-flag"
    hive.call("models", "register", "m", *VALID, capsys=capsys)
    assert _json(hive.catalog.read_text())["pool_id"] == "from-env"


def test_root_and_catalog_options_and_variables(
    hive: HiveRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "elsewhere"
    root.mkdir()
    assert (
        hive.call("--root", str(root), "models", "register", "a", *VALID, capsys=capsys).code == 0
    )
    assert (root / ".test-models" / "catalog.json").is_file()

    monkeypatch.setenv("RBEE_ROOT", str(root))
    assert hive.call("models", "catalog", "-q", capsys=capsys).out == "a\n"

    other = tmp_path / "other.json"
    monkeypatch.setenv("RBEE_CATALOG", str(other))
    hive.call("models", "register", "b", *VALID, capsys=capsys)
    assert [m["id"] for m in _json(other.read_text())["models"]] == ["b"]
    # The option beats the variable.
    result = hive.call(
        "--catalog",
        str(root / ".test-models" / "catalog.json"),
        "models",
        "catalog",
        "-q",
        capsys=capsys,
    )
    assert result.out == "a\n"


def test_global_options_before_models_or_after_the_subcommand(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "c.json"
    before = seeded.call(
        "--catalog", str(other), "--pool-id", "p1", "models", "register", "x", *VALID, capsys=capsys
    )
    after = seeded.call("models", "register", "y", *VALID, "--catalog", str(other), capsys=capsys)
    middle = seeded.call("models", "--catalog", str(other), "catalog", "-q", capsys=capsys)
    assert (before.code, after.code, middle.code) == (0, 0, 0)
    assert middle.out == "x\ny\n"
    # A later option does not reset an earlier one.
    result = seeded.call(
        "--catalog", str(other), "models", "catalog", "--color", "never", "-q", capsys=capsys
    )
    assert result.out == "x\ny\n"


def test_a_missing_root_is_an_error_not_a_new_directory(
    hive: HiveRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo"
    result = hive.call("--root", str(missing), "models", "register", "m", *VALID, capsys=capsys)
    assert result.code == 1
    assert result.err == f"error: the pool root {missing} is not a directory (--root/RBEE_ROOT)\n"
    assert not missing.exists()


# -- catalog ------------------------------------------------------------------------------------


def test_catalog_json_is_the_document_with_filters_applied(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = _json(seeded.call("models", "catalog", "--json", capsys=capsys).out)
    assert whole == _json(seeded.catalog.read_text())
    only = _json(seeded.call("models", "catalog", "--json", "--arch", "qwen2", capsys=capsys).out)
    assert [m["id"] for m in only["models"]] == ["qwen-0.5b"]
    assert {k: v for k, v in only.items() if k != "models"} == {
        k: v for k, v in whole.items() if k != "models"
    }


def test_catalog_json_matches_the_committed_schema(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema  # type: ignore[import-untyped]

    schema = _json((REPO / ".specs" / "catalog.schema.json").read_text())
    document = _json(seeded.call("models", "catalog", "--json", capsys=capsys).out)
    jsonschema.validate(document, schema)


@pytest.mark.parametrize(
    ("filters", "ids"),
    [
        (["--arch", "phi3"], ["phi3"]),
        (["--architecture", "MISTRAL"], ["mistral"]),
        (["--search", "instruct"], ["qwen-0.5b", "phi3", "mistral"]),
        (["--search", "tinyllama/"], ["tinyllama"]),
        (["--downloaded"], ["phi3"]),
        (["--not-downloaded"], ["tinyllama", "qwen-0.5b", "mistral"]),
        (["--format", "gguf"], ["qwen-0.5b"]),
        (["--backend", "metal"], ["tinyllama", "qwen-0.5b", "phi3", "mistral"]),
        (["--backend", "cuda", "--format", "gguf"], []),
        (["--search", "nothing-like-this"], []),
    ],
)
def test_catalog_filters(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str], filters: list[str], ids: list[str]
) -> None:
    seeded.call("models", "update", "phi3", "--downloaded", "--size-gb", "7.6", capsys=capsys)
    seeded.call(
        "models",
        "update",
        "qwen-0.5b",
        "--format",
        "gguf",
        "--backend",
        "cpu",
        "--backend",
        "metal",
        capsys=capsys,
    )
    result = seeded.call("models", "catalog", "-q", *filters, capsys=capsys)
    assert result.code == 0
    assert result.out.splitlines() == ids
    table = seeded.call("models", "catalog", *filters, capsys=capsys).out.splitlines()
    assert table[-1] == f"Total models: {len(ids)}"
    assert [line.split()[0] for line in table[4:-2]] == ids


def test_an_empty_catalog_shows_an_empty_table(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded.call("models", "unregister", "tinyllama", "qwen-0.5b", "phi3", "mistral", capsys=capsys)
    result = seeded.call("models", "catalog", capsys=capsys)
    assert result.err == ""
    assert result.out.splitlines()[-1] == "Total models: 0"


def test_long_names_are_never_cut_when_not_a_terminal(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "An Extremely Long Model Name That Goes On " * 3 + "🦙 Edition"
    hive.call(
        "models",
        "register",
        "a-rather-long-model-id",
        "--name",
        name,
        "--architecture",
        "llama",
        capsys=capsys,
    )
    hive.call(
        "models",
        "register",
        "x",
        "--name",
        "X",
        "--architecture",
        "llama",
        "--downloaded",
        capsys=capsys,
    )
    lines = hive.call("models", "catalog", capsys=capsys).out.splitlines()
    from rbee.cli.table import cell_width

    rows = lines[4:6]
    assert name in rows[0]
    assert rows[0].startswith("a-rather-long-model-id ")
    # Columns still line up (in cells), and the rules cover the widest row.
    starts = [cell_width(row[: row.index(" GB") - 3]) for row in rows]
    assert starts[0] == starts[1] == cell_width(lines[2][: lines[2].index("Size")])
    assert len(lines[1]) >= max(cell_width(row) for row in rows)


# -- register -----------------------------------------------------------------------------------


def test_register_sets_the_seed_defaults_and_every_option(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    hive.call(
        "models",
        "register",
        "plain",
        "--name",
        "Plain",
        "--repo",
        "o/r",
        "--architecture",
        "llama",
        capsys=capsys,
    )
    result = hive.call(
        "models", "register", "full", "--name", "Full", "--repo", "o/r", "--arch", "qwen2",
        "--format", "gguf", "--backend", "cuda", "--backend", "cpu", "--path", "models/full.gguf",
        "--size-gb", "4.5", "--downloaded", "--context-length", "8192", "--vocab-size", "151936",
        "--quantization", "Q4_K_M", "--json", capsys=capsys,
    )  # fmt: skip
    assert _json(result.out) == {
        "registered": ["full"],
        "updated": [],
        "skipped": [],
        "changed_fields": {},
    }
    plain, full = _json(hive.catalog.read_text())["models"]
    assert plain == {
        "id": "plain",
        "name": "Plain",
        "path": ".test-models/plain",
        "format": "safetensors",
        "size_gb": 0.0,
        "architecture": "llama",
        "downloaded": False,
        "backends": ["cpu", "metal", "cuda"],
        "metadata": {"repo": "o/r"},
    }
    assert full == {
        "id": "full",
        "name": "Full",
        "path": "models/full.gguf",
        "format": "gguf",
        "size_gb": 4.5,
        "architecture": "qwen2",
        "downloaded": True,
        "backends": ["cuda", "cpu"],
        "metadata": {
            "repo": "o/r",
            "context_length": 8192,
            "vocab_size": 151936,
            "quantization": "Q4_K_M",
        },
    }


def test_registering_the_same_model_again_is_skipped(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    before = seeded.catalog_bytes()
    result = seeded.call(
        "models", "register", "phi3", "--name", "Phi-3 Mini 4K Instruct", "--architecture", "phi3",
        "--repo", "microsoft/Phi-3-mini-4k-instruct", "--json", capsys=capsys,
    )  # fmt: skip
    assert result.code == 0
    assert _json(result.out) == {
        "registered": [],
        "updated": [],
        "skipped": ["phi3"],
        "changed_fields": {},
    }
    assert seeded.catalog_bytes() == before


def test_a_list_still_matches_after_the_pool_marked_a_model_downloaded(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded.call("models", "update", "tinyllama", "--downloaded", "--size-gb", "2.2", capsys=capsys)
    result = seeded.call("models", "register", "--from", str(EXAMPLES), "--json", capsys=capsys)
    assert result.code == 0, result.err
    assert _json(result.out)["skipped"] == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]


def test_register_from_stdin_as_toml_or_json(hive: HiveRunner) -> None:
    toml = EXAMPLES.read_text()
    listed = [{"id": "j1", "name": "J One", "architecture": "llama"}]
    # A TOML list may start with a table header, which also starts with "[".
    bare_toml = '[[models]]\nid = "t1"\nname = "T One"\narchitecture = "llama"\n'
    for text in (toml, json.dumps(listed), bare_toml, json.dumps({"models": listed})):
        result = hive.run("models", "register", "--from", "-", "--json", stdin=text)
        assert result.code == 0, result.err
    ids = [m["id"] for m in _json(hive.catalog.read_text())["models"]]
    assert ids == ["tinyllama", "qwen-0.5b", "phi3", "mistral", "j1", "t1"]


def test_register_from_stdin_names_the_source_in_messages(hive: HiveRunner) -> None:
    result = hive.run("models", "register", "--from", "-", stdin=EXAMPLES.read_text())
    assert result.out.splitlines()[-1] == "Registered 4, skipped 0 (from <stdin>)"
    bad = '[{"id": "x", "name": "", "architecture": "llama"}]'
    result = hive.run("models", "register", "--from", "-", "--from-name", "models.json", stdin=bad)
    assert result.code == 1
    assert result.err == "error: models.json: entry 1 ('x'): field 'name': must be non-empty text\n"


def test_register_from_a_catalog_document(
    seeded: HiveRunner, hive: HiveRunner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exported = tmp_path / "exported.json"
    exported.write_text(seeded.call("models", "catalog", "--json", capsys=capsys).out)
    other = tmp_path / "other-catalog.json"
    result = seeded.call(
        "--catalog", str(other), "models", "register", "--from", str(exported), capsys=capsys
    )
    assert result.code == 0
    assert _json(other.read_text())["models"] == _json(seeded.catalog.read_text())["models"]


def test_from_cannot_be_mixed_with_entry_options(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    result = hive.call("models", "register", "--from", str(EXAMPLES), "--name", "X", capsys=capsys)
    assert result.code == 2
    assert "--from cannot be combined with --name" in result.err


# -- unregister, show, update ---------------------------------------------------------------------


def test_unregister_never_deletes_model_files(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = seeded.pool / ".test-models" / "phi3" / "model.safetensors"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    result = seeded.call("models", "unregister", "phi3", "--json", capsys=capsys)
    assert _json(result.out) == {"unregistered": ["phi3"], "missing": []}
    assert weights.read_bytes() == b"weights"
    assert seeded.call("models", "catalog", "-q", capsys=capsys).out.split() == [
        "tinyllama",
        "qwen-0.5b",
        "mistral",
    ]


def test_unregister_missing_ok(seeded: HiveRunner, capsys: pytest.CaptureFixture[str]) -> None:
    result = seeded.call(
        "models", "unregister", "nope", "phi3", "--missing-ok", "--json", capsys=capsys
    )
    assert (result.code, _json(result.out)) == (0, {"unregistered": ["phi3"], "missing": ["nope"]})


def test_show_prints_every_field(seeded: HiveRunner, capsys: pytest.CaptureFixture[str]) -> None:
    seeded.call("models", "update", "tinyllama", "--quantization", "Q4_K_M", capsys=capsys)
    lines = seeded.call("models", "show", "tinyllama", capsys=capsys).out.splitlines()
    fields = {line[:16].strip(): line[16:] for line in lines}
    assert fields == {
        "ID": "tinyllama",
        "Name": "TinyLlama 1.1B Chat",
        "Path": ".test-models/tinyllama",
        "Format": "safetensors",
        "Size": "0.0 GB",
        "Architecture": "llama",
        "Downloaded": "❌ no",
        "Backends": "cpu, metal, cuda",
        "Repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "Context length": "2048",
        "Vocab size": "32000",
        "Quantization": "Q4_K_M",
    }
    shown = _json(seeded.call("models", "show", "tinyllama", "--json", capsys=capsys).out)
    assert shown == _json(seeded.catalog.read_text())["models"][0]


def test_show_prints_the_parameter_count_as_inspect_does(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _json(seeded.catalog.read_text())
    document["models"][0]["metadata"]["parameters"] = 1_100_048_384  # what scan records
    seeded.catalog.write_text(json.dumps(document))
    lines = seeded.call("models", "show", "tinyllama", capsys=capsys).out.splitlines()
    assert "Parameters      1.10B (1,100,048,384)" in lines


def test_update_changes_only_the_given_fields(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _json(seeded.catalog.read_text())["models"]
    result = seeded.call(
        "models", "update", "mistral", "--name", "Mistral 7B", "--repo", "mistralai/Other",
        "--backend", "cuda", "--json", capsys=capsys,
    )  # fmt: skip
    assert _json(result.out) == {
        "updated": ["mistral"],
        "unchanged": [],
        "changed": ["name", "backends", "metadata.repo"],
    }
    after = _json(seeded.catalog.read_text())["models"]
    assert after[:3] == before[:3]
    expected = dict(before[3], name="Mistral 7B", backends=["cuda"])
    expected["metadata"] = dict(before[3]["metadata"], repo="mistralai/Other")
    assert after[3] == expected

    unchanged = seeded.catalog_bytes()
    again = seeded.call("models", "update", "mistral", "--name", "Mistral 7B", capsys=capsys)
    assert again.out == "= Model mistral already has these values; nothing changed\n"
    assert seeded.catalog_bytes() == unchanged

    cleared = seeded.call("models", "update", "mistral", "--quantization", "Q8_0", capsys=capsys)
    assert cleared.code == 0
    seeded.call("models", "update", "mistral", "--clear-quantization", capsys=capsys)
    assert "quantization" not in _json(seeded.catalog.read_text())["models"][3]["metadata"]


def test_update_sets_every_field_option(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    every_option = [
        "models", "update", "phi3", "--name", "Phi-3 Q4", "--repo", "microsoft/Phi-3-mini-4k-gguf",
        "--architecture", "phi3", "--format", "gguf", "--backend", "metal", "--backend", "cpu",
        "--backend", "metal", "--path", "models/phi3.gguf", "--size-gb", "2.2", "--downloaded",
        "--context-length", "4096", "--vocab-size", "32064", "--quantization", "Q4_K_M",
    ]  # fmt: skip
    result = seeded.call(*every_option, "--json", capsys=capsys)
    assert result.code == 0, result.err
    assert _json(result.out)["changed"] == [
        "name", "path", "format", "size_gb", "downloaded", "backends", "metadata.repo",
        "metadata.quantization",
    ]  # fmt: skip
    entry = next(m for m in _json(seeded.catalog.read_text())["models"] if m["id"] == "phi3")
    assert entry == {
        "id": "phi3",
        "name": "Phi-3 Q4",
        "path": "models/phi3.gguf",
        "format": "gguf",
        "size_gb": 2.2,
        "architecture": "phi3",
        "downloaded": True,
        "backends": ["metal", "cpu"],
        "metadata": {
            "repo": "microsoft/Phi-3-mini-4k-gguf",
            "context_length": 4096,
            "vocab_size": 32064,
            "quantization": "Q4_K_M",
        },
    }
    # The same options again change nothing, not even the file's modification time.
    stat = seeded.catalog.stat()
    again = seeded.call(*every_option, "--json", capsys=capsys)
    assert _json(again.out) == {"updated": [], "unchanged": ["phi3"], "changed": []}
    assert seeded.catalog.stat().st_mtime_ns == stat.st_mtime_ns
    # And back: --not-downloaded, another architecture, the other numbers.
    back = seeded.call(
        "models", "update", "phi3", "--not-downloaded", "--arch", "phi", "--context-length", "128",
        "--vocab-size", "7", "--size-gb", "0", "--format", "safetensors", capsys=capsys,
    )  # fmt: skip
    assert back.code == 0, back.err
    entry = next(m for m in _json(seeded.catalog.read_text())["models"] if m["id"] == "phi3")
    assert (entry["downloaded"], entry["architecture"], entry["size_gb"], entry["format"]) == (
        False,
        "phi",
        0.0,
        "safetensors",
    )
    assert (entry["metadata"]["context_length"], entry["metadata"]["vocab_size"]) == (128, 7)


def test_quiet_mutations_print_nothing(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    for arguments in (
        ["models", "register", "q", *VALID, "-q"],
        ["models", "update", "q", "--name", "Q", "-q"],
        ["models", "unregister", "q", "-q"],
    ):
        result = seeded.call(*arguments, capsys=capsys)
        assert (result.code, result.out, result.err) == (0, "", "")


def test_version_and_help(hive: HiveRunner, capsys: pytest.CaptureFixture[str]) -> None:
    from rbee import __version__

    result = hive.call("--version", capsys=capsys)
    assert (result.code, result.out) == (0, f"rbee-hive {__version__}\n")
    for path in ([], ["models"], ["models", "catalog"], ["models", "register"], ["completion"]):
        shown = hive.call(*path, "--help", capsys=capsys)
        assert shown.code == 0
        assert shown.out.startswith("usage: " + " ".join(["rbee-hive", *path]))


def test_unknown_options_name_the_subcommand(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    result = hive.call("models", "catalog", "--bogus", capsys=capsys)
    assert result.code == 2
    assert result.err == (
        "error: rbee-hive models catalog: unrecognized arguments: --bogus "
        "(see 'rbee-hive models catalog --help')\n"
    )
    abbreviated = hive.call("--cat", "x.json", "models", "catalog", capsys=capsys)
    assert abbreviated.code == 2
