"""`register --from FILE --update`, `register --test-models`, and the fill-in rule, end to end."""

from __future__ import annotations

import json

import pytest

from tests.hive.conftest import EXAMPLES, HiveRunner


def test_the_readme_sequence_succeeds_in_an_empty_root(hive: HiveRunner) -> None:
    first = hive.run(
        "models", "register", "tinyllama", "--name", "TinyLlama 1.1B Chat",
        "--repo", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--architecture", "llama",
    )  # fmt: skip
    assert first.code == 0, first.err
    result = hive.run("models", "register", "--from", str(EXAMPLES))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "✅ Model tinyllama updated (metadata.context_length, metadata.vocab_size)",
        "✅ Model qwen-0.5b registered",
        "✅ Model phi3 registered",
        "✅ Model mistral registered",
        f"Registered 3, updated 1, skipped 0 (from {EXAMPLES})",
    ]


def test_a_conflict_names_the_fields_suggests_update_and_registers_nothing(
    seeded: HiveRunner,
) -> None:
    changed = EXAMPLES.read_text().replace('"Phi-3 Mini 4K Instruct"', '"Phi-3"')
    changed += '\n[[models]]\nid = "gemma"\nname = "Gemma"\narchitecture = "gemma"\n'
    listing = seeded.pool / "models.toml"
    listing.write_text(changed)
    before = seeded.catalog_bytes()
    result = seeded.run("models", "register", "--from", "models.toml")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "error: models.toml: model 'phi3' is already registered with different fields (name); "
        "nothing from models.toml was registered (--update takes the new values; "
        "'rbee-hive models update' changes single fields)\n"
    )
    assert seeded.catalog_bytes() == before

    result = seeded.run("models", "register", "--from", "models.toml", "--update", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "registered": ["gemma"],
        "updated": ["phi3"],
        "skipped": ["tinyllama", "qwen-0.5b", "mistral"],
        "changed_fields": {"phi3": ["name"]},
    }
    again = seeded.run("models", "register", "--from", "models.toml", "--update")
    assert again.code == 0
    assert again.out.splitlines()[-1] == "Registered 0, updated 0, skipped 5 (from models.toml)"


def test_update_keeps_what_the_pool_learned_since(
    seeded: HiveRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded.call("models", "update", "phi3", "--downloaded", "--size-gb", "7.6", capsys=capsys)
    listing = seeded.pool / "models.toml"
    listing.write_text(EXAMPLES.read_text().replace("context_length = 4096", "context_length = 8"))
    result = seeded.call("models", "register", "--from", "models.toml", "--update", capsys=capsys)
    assert result.code == 0, result.err
    phi3 = json.loads(seeded.call("models", "show", "phi3", "--json", capsys=capsys).out)
    assert (phi3["downloaded"], phi3["size_gb"], phi3["metadata"]["context_length"]) == (
        True,
        7.6,
        8,
    )


def test_the_test_models_ship_inside_the_package(hive: HiveRunner) -> None:
    # Run from a directory without the checkout's examples/: the list comes from the package.
    result = hive.run("--pool-id", "mac.home.arpa", "models", "register", "--test-models")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "Registered 4, skipped 0 (from the test models)"
    expected = hive.run("models", "catalog", "--json")
    catalog = json.loads(expected.out)
    assert [m["id"] for m in catalog["models"]] == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]
    again = hive.run("models", "register", "--test-models", "--json")
    assert json.loads(again.out)["skipped"] == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test-models", "--from", "x.toml"], "--from and --test-models contradict each other"),
        (["--test-models", "m"], "--test-models cannot be combined with ID"),
        (["--test-models", "--name", "N"], "--test-models cannot be combined with --name"),
        (["m", "--name", "N", "--arch", "llama", "--update"], "--update goes with --from"),
    ],
)
def test_list_options_refuse_what_does_not_go_with_them(
    hive: HiveRunner, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    result = hive.call("models", "register", *args, capsys=capsys)
    assert result.code == 2
    assert message in result.err
    assert not hive.catalog.exists()


def test_parameters_has_its_option(hive: HiveRunner, capsys: pytest.CaptureFixture[str]) -> None:
    hive.call(
        "models", "register", "m", "--name", "M", "--arch", "llama", "--parameters", "7",
        capsys=capsys,
    )  # fmt: skip
    result = hive.call("models", "update", "m", "--parameters", "8", "--json", capsys=capsys)
    assert json.loads(result.out)["changed"] == ["metadata.parameters"]
    result = hive.call("models", "update", "m", "--clear-parameters", "--json", capsys=capsys)
    assert json.loads(result.out)["changed"] == ["metadata.parameters"]
    bad = hive.call("models", "update", "m", "--parameters", "0", capsys=capsys)
    assert (bad.code, bad.err) == (
        1,
        "error: model 'm': field 'metadata.parameters': must be a positive integer, got 0\n",
    )
