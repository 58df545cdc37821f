"""The in-memory API: every operation and every validation rule of the catalog format."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import (
    CatalogError,
    CatalogInvalidError,
    ModelCatalog,
    ModelEntry,
    ModelExistsError,
    ModelNotFoundError,
    edit_catalog,
    load_catalog,
)

EntryFactory = Callable[..., ModelEntry]


def stamp_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# -- ModelEntry construction ------------------------------------------------------------------


def test_entry_takes_the_seeds_field_names_as_keywords() -> None:
    entry = ModelEntry(
        id="tinyllama",
        name="TinyLlama 1.1B Chat",
        path=Path(".test-models/tinyllama"),
        format="safetensors",
        size_gb=2.2,
        architecture="llama",
        downloaded=True,
        backends=["cpu", "metal", "cuda"],
        metadata={"repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "context_length": 2048},
    )
    assert entry.path == ".test-models/tinyllama"
    assert entry.metadata["repo"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert entry.backends == ["cpu", "metal", "cuda"]


def test_entry_defaults_follow_register() -> None:
    entry = ModelEntry(id="phi3", name="Phi-3", architecture="phi3")
    assert entry.path == ".test-models/phi3"
    assert entry.format == "safetensors"
    assert entry.size_gb == 0.0
    assert entry.downloaded is False
    assert entry.backends == ["cpu", "metal", "cuda"]
    assert entry.metadata == {}


def test_integer_size_becomes_a_float(make_entry: EntryFactory) -> None:
    entry = make_entry(size_gb=3)
    assert entry.size_gb == 3.0
    assert isinstance(entry.size_gb, float)


def test_backends_accepts_any_iterable(make_entry: EntryFactory) -> None:
    assert make_entry(backends=("cuda", "cpu")).backends == ["cuda", "cpu"]
    assert make_entry(backends=(b for b in ["metal"])).backends == ["metal"]


def test_entry_copy_is_deep(make_entry: EntryFactory) -> None:
    entry = make_entry()
    duplicate = entry.copy()
    duplicate.metadata["repo"] = "other/repo"
    duplicate.backends.append("x")
    assert entry.metadata["repo"] == "owner/tinyllama"
    assert entry.backends == ["cpu", "metal", "cuda"]


# -- validation: each rule names the model id and the field -----------------------------------

GOOD_IDS = ["tinyllama", "qwen-0.5b", "Phi3", "a", "0", "a.b_c-d", "x" * 64, "7b..q4"]
BAD_IDS: list[Any] = [
    "",
    ".",
    "..",
    ".hidden",
    "-rf",
    "_x",
    "x" * 65,
    "a/b",
    "../etc",
    "a b",
    "it's",
    "a;rm",
    "a$b",
    "é",
    "tiny\n",
    "tiny\x00",
    5,
    None,
]


@pytest.mark.parametrize("model_id", GOOD_IDS)
def test_valid_ids(make_entry: EntryFactory, model_id: str) -> None:
    assert make_entry(model_id, metadata={}).id == model_id


@pytest.mark.parametrize("model_id", BAD_IDS)
def test_invalid_ids_are_refused(make_entry: EntryFactory, model_id: Any) -> None:
    with pytest.raises(CatalogInvalidError) as caught:
        make_entry(model_id)
    assert caught.value.field == "id"
    assert "field 'id'" in str(caught.value)
    assert "1-64 ASCII letters" in str(caught.value)


# (field, bad value, words the message must contain)
BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("name", "", "non-empty"),
    ("name", "two\nlines", "control characters"),
    ("name", "bell\x07", "control characters"),
    ("name", "line\u2028sep", "control characters"),
    ("name", 42, "must be a string"),
    ("path", "", "non-empty"),
    ("path", "a\tb", "control characters"),
    ("format", "onnx", "safetensors, gguf"),
    ("format", "GGUF", "safetensors, gguf"),
    ("size_gb", -0.1, ">= 0"),
    ("size_gb", float("nan"), "finite"),
    ("size_gb", float("inf"), "finite"),
    ("size_gb", 10**400, "finite"),
    ("size_gb", "2.2", "number of GB"),
    ("size_gb", True, "number of GB"),
    ("architecture", "", "lower-case token"),
    ("architecture", "Llama", "lower-case token"),
    ("architecture", "llama 2", "lower-case token"),
    ("downloaded", "yes", "true or false"),
    ("downloaded", 1, "true or false"),
    ("backends", [], "at least one of cpu, metal, cuda"),
    ("backends", "cpu", "list of backends"),
    ("backends", ["cpu", "opencl"], "one of cpu, metal, cuda, rocm, vulkan"),
    ("backends", ["cpu", "cpu"], "listed twice"),
    ("metadata", ["repo"], "must be an object"),
    ("metadata", {"repo": "no-slash"}, "owner/name"),
    ("metadata", {"repo": "a/b/c"}, "owner/name"),
    ("metadata", {"repo": "../x"}, "owner/name"),
    ("metadata", {"repo": "owner/.."}, "owner/name"),
    ("metadata", {"repo": 7}, "owner/name"),
    ("metadata", {"context_length": 0}, "positive integer"),
    ("metadata", {"context_length": -5}, "positive integer"),
    ("metadata", {"context_length": 2048.0}, "positive integer"),
    ("metadata", {"context_length": "2048"}, "positive integer"),
    ("metadata", {"vocab_size": 0}, "positive integer"),
    ("metadata", {"vocab_size": True}, "positive integer"),
    ("metadata", {"quantization": ""}, "non-empty"),
    ("metadata", {"note": float("nan")}, "finite"),
    ("metadata", {"note": {1, 2}}, "JSON cannot represent"),
    ("metadata", {"note": "\ud800"}, "lone surrogate"),
]


@pytest.mark.parametrize(("field", "value", "words"), BAD_FIELDS)
def test_each_broken_rule_names_model_and_field(
    make_entry: EntryFactory, field: str, value: Any, words: str
) -> None:
    with pytest.raises(CatalogInvalidError) as caught:
        make_entry("phi3", **{field: value})
    message = str(caught.value)
    assert "model 'phi3'" in message
    assert caught.value.model_id == "phi3"
    assert caught.value.field.startswith(field)
    assert f"field '{caught.value.field}'" in message
    assert words in message
    assert "\n" not in message


def test_metadata_field_path_is_precise(make_entry: EntryFactory) -> None:
    with pytest.raises(CatalogInvalidError) as caught:
        make_entry(metadata={"repo": "a/b", "vocab_size": -1})
    assert caught.value.field == "metadata.vocab_size"
    with pytest.raises(CatalogInvalidError) as caught:
        make_entry(backends=["cpu", "tpu"])
    assert caught.value.field == "backends[1]"


def test_unknown_metadata_keys_are_kept(make_entry: EntryFactory) -> None:
    entry = make_entry(metadata={"repo": "a/b", "license": "mit", "tags": ["x", {"y": 1}]})
    assert entry.to_dict()["metadata"]["tags"] == ["x", {"y": 1}]


def test_problems_lists_every_broken_rule(make_entry: EntryFactory) -> None:
    entry = make_entry()
    entry.name = ""
    entry.format = "onnx"
    entry.backends = []
    assert [field for field, _ in entry.problems()] == ["name", "format", "backends"]


def test_validate_catches_in_place_edits(make_entry: EntryFactory) -> None:
    entry = make_entry()
    entry.validate()
    entry.size_gb = -1.0
    with pytest.raises(CatalogInvalidError, match="size_gb"):
        entry.validate()


# -- ModelCatalog operations ------------------------------------------------------------------


def test_new_catalog() -> None:
    catalog = ModelCatalog.new("mac.home.arpa")
    assert catalog.version == "1.1"
    assert catalog.pool_id == "mac.home.arpa"
    assert catalog.models == []
    assert abs(stamp_time(catalog.updated_at).timestamp() - time.time()) < 60


@pytest.mark.parametrize("pool_id", ["", "a\nb", 3])
def test_new_catalog_refuses_bad_pool_id(pool_id: Any) -> None:
    with pytest.raises(CatalogInvalidError, match="pool_id"):
        ModelCatalog.new(pool_id)


def test_add_find_get_remove(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    tiny = make_entry("tinyllama")
    catalog.add_model(tiny)
    assert catalog.find_model("tinyllama") is tiny
    assert catalog.get_model("tinyllama") is tiny
    assert catalog.find_model("missing") is None
    assert catalog.remove_model("tinyllama") is tiny
    assert catalog.models == []
    assert catalog.find_model("tinyllama") is None


def test_add_existing_id_is_refused(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("phi3"))
    with pytest.raises(ModelExistsError) as caught:
        catalog.add_model(make_entry("phi3", name="another"))
    assert "'phi3' already exists" in str(caught.value)
    assert len(catalog.models) == 1
    assert catalog.models[0].name == "Model phi3"


def test_add_invalid_entry_is_refused_and_catalog_unchanged(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    entry = make_entry("phi3")
    entry.format = "onnx"
    before = catalog.updated_at
    with pytest.raises(CatalogInvalidError, match="format"):
        catalog.add_model(entry)
    assert catalog.models == []
    assert catalog.updated_at == before


def test_add_models_adds_all_in_order_and_stamps_once(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("a"))
    catalog.updated_at = "2999-01-01T00:00:00.999999Z"
    catalog.add_models(make_entry(model_id) for model_id in ("b", "c", "d"))
    assert ids(catalog.models) == ["a", "b", "c", "d"]
    # One stamp for the whole batch: one microsecond past the (future) previous one.
    assert catalog.updated_at == "2999-01-01T00:00:01.000000Z"
    assert catalog.models_by_id()["c"] is catalog.models[2]


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        (["b", "a"], ModelExistsError),  # taken in the catalog
        (["b", "c", "b"], ModelExistsError),  # twice in the batch
        (["b", "Not An Id"], CatalogInvalidError),
    ],
)
def test_add_models_is_all_or_nothing(
    make_entry: EntryFactory, batch: list[str], error: type[Exception]
) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("a"))
    before = catalog.updated_at
    entries = [make_entry("b")]
    for model_id in batch[1:]:
        entry = make_entry("placeholder")
        entry.id = model_id
        entries.append(entry)
    with pytest.raises(error):
        catalog.add_models(entries)
    assert ids(catalog.models) == ["a"]
    assert catalog.updated_at == before


def test_add_models_of_nothing_changes_nothing() -> None:
    catalog = ModelCatalog.new("pool")
    before = catalog.updated_at
    catalog.add_models([])
    assert catalog.updated_at == before


def test_remove_and_get_missing_raise_not_found() -> None:
    catalog = ModelCatalog.new("pool")
    with pytest.raises(ModelNotFoundError, match="'ghost' is not in the catalog"):
        catalog.remove_model("ghost")
    with pytest.raises(ModelNotFoundError):
        catalog.get_model("ghost")


def test_find_model_mut_returns_the_stored_entry(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("phi3"))
    entry = catalog.find_model_mut("phi3")
    assert entry is not None
    entry.downloaded = False
    assert catalog.models[0].downloaded is False
    assert catalog.find_model_mut("nope") is None


def test_replace_model(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("phi3"))
    old = catalog.replace_model(make_entry("phi3", size_gb=7.5))
    assert old.size_gb == 2.2
    assert catalog.get_model("phi3").size_gb == 7.5
    with pytest.raises(ModelNotFoundError):
        catalog.replace_model(make_entry("ghost"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c, e: c.add_model(e("new")),
        lambda c, e: c.remove_model("a"),
        lambda c, e: c.replace_model(e("a", size_gb=9.0)),
    ],
    ids=["add", "remove", "replace"],
)
def test_every_mutation_moves_updated_at_forward(make_entry: EntryFactory, mutate: Any) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("a"))
    # A stamp from the future: the next one must still be later, whatever the clock says.
    catalog.updated_at = "2999-01-01T00:00:00.999999Z"
    mutate(catalog, make_entry)
    assert stamp_time(catalog.updated_at) > stamp_time("2999-01-01T00:00:00.999999Z")
    before = catalog.updated_at
    catalog.add_model(make_entry("another"))
    assert stamp_time(catalog.updated_at) > stamp_time(before)


def test_replace_with_equal_entry_keeps_updated_at(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("a"))
    before = catalog.updated_at
    catalog.replace_model(make_entry("a"))
    assert catalog.updated_at == before


def test_touch_handles_seed_rfc3339_stamps() -> None:
    catalog = ModelCatalog(pool_id="p", updated_at="2999-10-09T15:00:00.123456789+00:00")
    catalog.touch()
    assert catalog.updated_at == "2999-10-09T15:00:00.123457Z"


@pytest.fixture
def four_models(make_entry: EntryFactory) -> ModelCatalog:
    catalog = ModelCatalog.new("pool")
    catalog.add_model(make_entry("tinyllama", name="TinyLlama 1.1B Chat", downloaded=True))
    catalog.add_model(
        make_entry(
            "qwen-0.5b",
            name="Qwen2.5 0.5B",
            architecture="qwen2",
            backends=["cpu"],
            downloaded=False,
            metadata={"repo": "Qwen/Qwen2.5-0.5B-Instruct"},
        )
    )
    catalog.add_model(
        make_entry("phi3", architecture="phi3", format="gguf", backends=["metal", "cpu"])
    )
    catalog.add_model(make_entry("mistral", architecture="mistral", downloaded=False))
    return catalog


def ids(entries: list[ModelEntry]) -> list[str]:
    return [entry.id for entry in entries]


def test_filter_by_each_criterion(four_models: ModelCatalog) -> None:
    assert ids(four_models.filter(architecture="qwen2")) == ["qwen-0.5b"]
    assert ids(four_models.filter(architecture="QWEN2")) == ["qwen-0.5b"]
    assert ids(four_models.filter(backend="metal")) == ["tinyllama", "phi3", "mistral"]
    assert ids(four_models.filter(format="gguf")) == ["phi3"]
    assert ids(four_models.filter(downloaded=False)) == ["qwen-0.5b", "mistral"]
    assert ids(four_models.filter(downloaded=True, backend="cuda")) == ["tinyllama"]
    assert ids(four_models.filter()) == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]
    assert four_models.filter(architecture="gpt2") == []


def test_search_free_text(four_models: ModelCatalog) -> None:
    assert ids(four_models.search("tiny")) == ["tinyllama"]
    assert ids(four_models.search("CHAT")) == ["tinyllama"]  # name, case-insensitive
    assert ids(four_models.search("instruct")) == ["qwen-0.5b"]  # repo
    assert ids(four_models.search("mistral")) == ["mistral"]
    assert four_models.search("nothing-like-this") == []
    assert ids(four_models.filter(text="owner/", backend="cpu")) == ["tinyllama", "phi3", "mistral"]


def test_with_models_keeps_header(four_models: ModelCatalog) -> None:
    view = four_models.with_models(four_models.filter(format="gguf"))
    assert view.pool_id == four_models.pool_id
    assert view.updated_at == four_models.updated_at
    assert ids(view.models) == ["phi3"]
    assert len(four_models.models) == 4


def test_dict_round_trip_keeps_unknown_fields(seed_document: dict[str, Any]) -> None:
    seed_document["future_top"] = {"k": [1, 2]}
    seed_document["models"][0]["future_entry"] = "kept"
    catalog = ModelCatalog.from_dict(seed_document)
    assert catalog.to_dict() == seed_document
    assert list(catalog.to_dict()) == ["version", "pool_id", "updated_at", "models", "future_top"]


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda d: d.pop("pool_id"), "pool_id", "is missing"),
        (lambda d: d["models"][0].pop("backends"), "backends", "is missing"),
        (lambda d: d.update(models={}), "models", "must be a list"),
        (lambda d: d["models"].append(5), "(entry)", "must be an object"),
        (lambda d: d.update(updated_at="yesterday"), "updated_at", "RFC 3339"),
        (lambda d: d.update(updated_at="2025-10-09T15:00Z"), "updated_at", "RFC 3339"),
        (lambda d: d.update(updated_at="2025-10-09T15:00:00+02:00"), "updated_at", "UTC"),
        (lambda d: d.update(updated_at="2025-13-09T15:00:00Z"), "updated_at", "RFC 3339"),
        (lambda d: d.update(version=1.0), "version", "major.minor"),
        (lambda d: d.update(version="1"), "version", "major.minor"),
        (lambda d: d.update(version="1.0\n"), "version", "major.minor"),
    ],
)
def test_document_rules(seed_document: dict[str, Any], edit: Any, field: str, words: str) -> None:
    edit(seed_document)
    with pytest.raises(CatalogInvalidError) as caught:
        ModelCatalog.from_dict(seed_document)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_duplicate_ids_in_a_document(seed_document: dict[str, Any]) -> None:
    seed_document["models"].append(dict(seed_document["models"][0]))
    with pytest.raises(CatalogInvalidError) as caught:
        ModelCatalog.from_dict(seed_document)
    assert "model 'tinyllama'" in str(caught.value)
    assert "models[0] and models[1]" in str(caught.value)


def test_validate_catches_duplicates_added_behind_its_back(make_entry: EntryFactory) -> None:
    catalog = ModelCatalog.new("pool")
    catalog.models.extend([make_entry("a"), make_entry("a")])
    with pytest.raises(CatalogInvalidError, match="used twice"):
        catalog.validate()


def test_timestamps_accepted() -> None:
    for stamp in [
        "2025-10-09T15:00:00Z",
        "2025-10-09T15:00:00.1Z",
        "2025-10-09T15:00:00.123456789+00:00",
    ]:
        ModelCatalog(pool_id="p", updated_at=stamp).validate()


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-13-09T15:00:00Z",  # month 13
        "2025-02-30T15:00:00Z",
        "2025-10-09T24:00:00Z",
        "2025-10-09T15:00:60Z",  # no leap seconds, as with strptime
        "2025-10-09 15:00:00Z",
        "2025-10-09T15:00:00",
    ],
)
def test_impossible_timestamps_are_refused(stamp: str) -> None:
    with pytest.raises(CatalogInvalidError, match="updated_at"):
        ModelCatalog(pool_id="p", updated_at=stamp).validate()


def test_catalog_work_loads_neither_strptime_nor_pathlib(python: str, tmp_path: Path) -> None:
    # Each costs every CLI start-up milliseconds (pathlib pulls in urllib.parse and ipaddress),
    # and `register` stamps on every add.
    script = (
        "import sys\n"
        "from rbee.catalog import ModelCatalog, ModelEntry, edit_catalog, load_catalog\n"
        "from rbee.catalog import CatalogNotFoundError\n"
        "path = sys.argv[1]\n"
        "catalog = ModelCatalog(pool_id='p', updated_at='2999-10-09T15:00:00.5Z')\n"
        "catalog.add_model(ModelEntry(id='a', name='A', architecture='llama'))\n"
        "assert catalog.updated_at == '2999-10-09T15:00:00.500001Z', catalog.updated_at\n"
        "catalog.save(path)\n"
        "with edit_catalog(path) as edited:\n"
        "    edited.add_models([ModelEntry(id='b', name='B', architecture='llama')])\n"
        "assert len(load_catalog(path).models) == 2\n"
        "try:\n"
        "    load_catalog(path + '.missing')\n"
        "except CatalogNotFoundError as exc:\n"
        "    assert str(exc).startswith('no catalog at ')\n"
        "print(sorted({'_strptime', 'pathlib'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [python, "-c", script, str(tmp_path / "catalog.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == "[]\n"


def test_every_error_is_a_catalog_error() -> None:
    for error_class in (CatalogInvalidError, ModelExistsError, ModelNotFoundError):
        assert issubclass(error_class, CatalogError)


# -- format 1.1 rules ---------------------------------------------------------------------------


def test_a_name_is_at_most_256_characters() -> None:
    ModelEntry(id="m", name="n" * 256, architecture="llama")
    with pytest.raises(CatalogInvalidError, match=r"name.*at most 256 characters, got 257"):
        ModelEntry(id="m", name="n" * 257, architecture="llama")


def test_a_longer_name_from_an_older_rbee_loads_and_is_reported_when_edited(
    tmp_path: Path,
) -> None:
    document: dict[str, Any] = {
        "version": "1.0",
        "pool_id": "p",
        "updated_at": "2025-10-09T15:00:00Z",
        "models": [ModelEntry(id="long", name="x", architecture="llama").to_dict()],
    }
    document["models"][0]["name"] = "n" * 300
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    with edit_catalog(path) as catalog:  # other edits still work
        catalog.add_model(ModelEntry(id="other", name="Other", architecture="llama"))
    entry = load_catalog(path).get_model("long")
    assert len(entry.name) == 300
    with pytest.raises(CatalogInvalidError, match=r"model 'long'.*at most 256 characters"):
        entry.validate()


def test_ids_are_unique_ignoring_case() -> None:
    catalog = ModelCatalog.new("p")
    catalog.add_model(ModelEntry(id="tinyllama", name="T", architecture="llama"))
    with pytest.raises(ModelExistsError, match="'TinyLlama' collides with 'tinyllama'"):
        catalog.add_model(ModelEntry(id="TinyLlama", name="T", architecture="llama"))
    with pytest.raises(ModelExistsError, match="'TINYLLAMA' collides with 'tinyllama'"):
        catalog.add_models([ModelEntry(id="TINYLLAMA", name="T", architecture="llama")])
    with pytest.raises(ModelExistsError, match="'B' collides with 'b'"):
        catalog.add_models(
            [
                ModelEntry(id="b", name="B", architecture="llama"),
                ModelEntry(id="B", name="B", architecture="llama"),
            ]
        )
    assert [entry.id for entry in catalog.models] == ["tinyllama"]
    assert catalog.find_model_ignoring_case("TINYLLAMA") is catalog.models[0]


def test_rocm_and_vulkan_are_backends() -> None:
    entry = ModelEntry(id="m", name="M", architecture="llama", backends=["rocm", "vulkan"])
    assert entry.backends == ["rocm", "vulkan"]


def test_a_record_is_validated_and_round_trips() -> None:
    from rbee.catalog.record import FileDigest, make_record, record_files

    record = make_record(
        {"type": "huggingface", "repo": "o/n", "revision": "main", "commit": "c" * 40},
        [FileDigest("b/2.safetensors", 2, "2" * 64), FileDigest("a.json", 1, "1" * 64)],
    )
    entry = ModelEntry(id="m", name="M", architecture="llama", record=record)
    assert [f.path for f in record_files(entry.record or {})] == ["a.json", "b/2.safetensors"]
    assert ModelEntry.from_dict(entry.to_dict()) == entry
    assert "record" not in ModelEntry(id="m", name="M", architecture="llama").to_dict()
    broken = [
        ({**record, "files": []}, "record.files"),
        ({**record, "files": [{"path": "../x", "size": 1, "sha256": "1" * 64}]}, "path"),
        ({**record, "files": [{"path": "/etc/x", "size": 1, "sha256": "1" * 64}]}, "path"),
        ({**record, "files": [{"path": "x", "size": -1, "sha256": "1" * 64}]}, "size"),
        ({**record, "files": [{"path": "x", "size": 1, "sha256": "F" * 64}]}, "sha256"),
        ({**record, "files": record["files"] + record["files"][:1]}, "listed twice"),
        ({**record, "source": {"type": ""}}, "record.source.type"),
        ({**record, "source": {"type": "huggingface", "commit": "main"}}, "commit"),
        ({k: v for k, v in record.items() if k != "recorded_at"}, "record.recorded_at"),
    ]
    for value, where in broken:
        with pytest.raises(CatalogInvalidError, match=re.escape(where)):
            ModelEntry(id="m", name="M", architecture="llama", record=value)
