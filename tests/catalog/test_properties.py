"""Property tests: valid catalogs survive a round trip; any other input is a `CatalogError`."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rbee.catalog import (
    BACKENDS,
    FORMATS,
    CatalogError,
    ModelCatalog,
    ModelEntry,
    load_catalog,
    parse_catalog,
    render_catalog,
)
from rbee.catalog.model import ARCHITECTURE_PATTERN, ID_PATTERN
from tests import shared

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

plain_text = shared.plain_text(max_size=30)
json_values = shared.json_values(max_leaves=8)
repos = st.from_regex(
    r"[A-Za-z0-9][A-Za-z0-9_-]{0,8}/[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True
)
metadata = st.fixed_dictionaries(
    {},
    optional={
        "repo": repos.filter(lambda r: ".." not in r),
        "context_length": st.integers(min_value=1, max_value=2**40),
        "vocab_size": st.integers(min_value=1, max_value=2**31),
        "quantization": plain_text,
        "license": json_values,
        "notes": json_values,
    },
)


@st.composite
def entries(draw: st.DrawFn, model_id: str | None = None) -> ModelEntry:
    return ModelEntry(
        id=model_id or draw(st.from_regex(ID_PATTERN, fullmatch=True)),
        name=draw(plain_text),
        path=draw(plain_text),
        format=draw(st.sampled_from(FORMATS)),
        size_gb=draw(st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.integers(0, 999)),
        architecture=draw(st.from_regex(ARCHITECTURE_PATTERN, fullmatch=True)),
        downloaded=draw(st.booleans()),
        backends=draw(st.lists(st.sampled_from(BACKENDS), min_size=1, unique=True)),
        metadata=draw(metadata),
    )


@st.composite
def catalogs(draw: st.DrawFn) -> ModelCatalog:
    ids = draw(
        st.lists(
            st.from_regex(ID_PATTERN, fullmatch=True),
            max_size=5,
            unique_by=str.lower,  # ids are unique ignoring case
        )
    )
    catalog = ModelCatalog.new(draw(plain_text))
    for model_id in ids:
        catalog.add_model(draw(entries(model_id)))
    catalog.extra = draw(st.dictionaries(st.sampled_from(["labels", "owner", "x"]), json_values))
    return catalog


@SETTINGS
@given(catalogs())
def test_any_valid_catalog_survives_save_and_load(catalog: ModelCatalog) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "catalog.json"
        catalog.save(path)
        loaded = load_catalog(path)
        assert loaded == catalog
        assert loaded.to_dict() == catalog.to_dict()
        loaded.save(path)  # unchanged: same bytes, same stamp
        assert load_catalog(path) == catalog


# -- anything else either loads or raises a CatalogError -----------------------------------------

EVIL_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**400,
    -(10**300),
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    "",
    "\ud800",
    "\udfff tail",
    "a\nb",
    "\x00",
    "../../etc/passwd",
    "it's",
    "é" * 100,
    [],
    {},
    [[[[[[[[]]]]]]]],
    {"a": {"b": {"c": []}}},
    ["cpu", "cpu"],
    "2025-10-09T15:00:00Z",
    "9.0",
    "1.0",
]


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


# Fresh copies: a shared object could end up inside itself, or be changed for later examples.
mutation_values = (
    st.sampled_from(EVIL_VALUES) | json_values | st.builds(nested, st.integers(60, 200))
).map(copy.deepcopy)


def containers(document: Any) -> list[Any]:
    """Every list and dict inside `document`, itself included."""
    found: list[Any] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    document: Any = draw(catalogs()).to_dict()
    for _ in range(draw(st.integers(1, 4))):
        places = containers(document)
        place = draw(st.sampled_from(places))
        operation = draw(st.sampled_from(["set", "delete", "add"]))
        if isinstance(place, dict):
            keys = list(place)
            if operation == "add" or not keys:
                key = draw(st.sampled_from(["version", "id", "models", "extra", "metadata"]))
                place[key] = draw(mutation_values)
            elif operation == "delete":
                del place[draw(st.sampled_from(keys))]
            else:
                place[draw(st.sampled_from(keys))] = draw(mutation_values)
        elif operation == "add" or not place:
            place.append(draw(mutation_values))
        elif operation == "delete":
            del place[draw(st.integers(0, len(place) - 1))]
        else:
            place[draw(st.integers(0, len(place) - 1))] = draw(mutation_values)
    if draw(st.booleans()):
        document = draw(mutation_values) if draw(st.integers(0, 9)) == 0 else document
    return document


def encode(document: Any, ensure_ascii: bool, indent: int | None) -> bytes:
    # allow_nan writes NaN/Infinity; surrogatepass writes lone surrogates as invalid UTF-8.
    text = json.dumps(document, ensure_ascii=ensure_ascii, indent=indent, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def loads_or_raises_catalog_error(data: bytes) -> None:
    try:
        catalog = parse_catalog(data, Path("catalog.json"))
    except CatalogError as error:
        message = str(error)
        assert message
        assert "\n" not in message
        assert "catalog.json" in message
        message.encode("utf-8")  # printable: no lone surrogates
        return
    # What loads is a valid catalog, and it survives its own round trip.
    catalog.validate()
    again = parse_catalog(render_catalog(catalog).encode("utf-8"))
    assert again == catalog


@SETTINGS
@given(mutated_documents(), st.booleans(), st.sampled_from([None, 2]))
def test_mutated_documents_load_or_raise_catalog_error(
    document: Any, ensure_ascii: bool, indent: int | None
) -> None:
    loads_or_raises_catalog_error(encode(document, ensure_ascii, indent))


@SETTINGS
@given(st.data())
def test_mutated_bytes_load_or_raise_catalog_error(data: st.DataObject) -> None:
    raw = bytearray(render_catalog(data.draw(catalogs())).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 5))):
        position = data.draw(st.integers(0, len(raw) - 1))
        operation = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if operation == "flip":
            raw[position] = data.draw(st.integers(0, 255))
        elif operation == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif operation == "delete":
            del raw[position]
        else:
            del raw[position:]
        if not raw:
            break
    if data.draw(st.booleans()):
        raw[0:0] = b"\xef\xbb\xbf"
    loads_or_raises_catalog_error(bytes(raw))


@SETTINGS
@given(st.binary(max_size=200) | json_values.map(lambda v: encode(v, False, None)))
def test_random_input_loads_or_raises_catalog_error(data: bytes) -> None:
    loads_or_raises_catalog_error(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"models": ' + b"[" * 50_000,
        b'{"version": "1.0", "pool_id": "p", "extra": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001,
        b'{"version": "1.0", "pool_id": ' + b"1" * 5000 + b"}",
        b'{"version": 1' + b"0" * 5000 + b".0}",
        b'{"version": "1.0", "x": 1e400}',
        b'{"version": "1.0", "x": -Infinity}',
        b'{"version": "1.0", "pool_id": "\\ud800"}',
        b'{"version": "1.0", "pool_id": "\xed\xa0\x80"}',
        b"\xff\xfe{\x00}\x00",
        b"\xef\xbb\xbf\xef\xbb\xbf{}",
        b"\x00",
        b"null",
        b'"catalog"',
        b"{}",
        b'{"version": "1.0", "pool_id": "p", "updated_at": "2025-10-09T15:00:00Z", '
        b'"models": [{"id": "a", "name": "n", "path": "p", "format": "gguf", "size_gb": '
        + b"9" * 400
        + b', "architecture": "llama", "downloaded": true, "backends": ["cpu"], "metadata": {}}]}',
    ],
    ids=lambda data: repr(data[:24]),
)
def test_hostile_documents_raise_catalog_error(data: bytes) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, Path("catalog.json"))
    assert "\n" not in str(caught.value)


SEED_ENTRY_TEXT = (
    '{"version": "1.0", "pool_id": "mac.home.arpa", "updated_at": "2025-10-09T15:00:00Z", '
    '"models": [{"id": "tinyllama", "name": "TinyLlama", "path": ".test-models/tinyllama", '
    '"format": "safetensors", "size_gb": 2.2, "architecture": "llama", "downloaded": true, '
    '"backends": ["cpu"], "metadata": {"context_length": 2048}}]}'
)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('"size_gb": 2.2', '"size_gb": 1e400', "field 'size_gb': must be a finite number"),
        ('"size_gb": 2.2', '"size_gb": ' + "9" * 400, "field 'size_gb': must be a finite"),
        (
            '"size_gb": 2.2',
            '"size_gb": NaN',
            f":1:{SEED_ENTRY_TEXT.index('2.2') + 1}: not a valid catalog: NaN is not a JSON",
        ),
        ('"size_gb": 2.2', '"size_gb": "2.2"', "field 'size_gb': must be a number"),
        ("2048", "1" + "0" * 5000, "a number has more than 4300 digits"),
        ("2048", "1" + "0" * 400, None),  # a big but valid positive integer
        ('"TinyLlama"', '"\\ud800"', "field 'name': must not contain control characters"),
        ('"TinyLlama"', '"\\u0007"', "field 'name': must not contain control characters"),
        ("TinyLlama", "Tiny\udc80", "not UTF-8"),
        ("2048}", '2048, "x": ' + "[" * 100 + "]" * 100 + "}", "nested more than 64 levels"),
        ("2048}", '2048, "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('"downloaded": true', '"downloaded": 1', "field 'downloaded': must be true or false"),
        ('"backends": ["cpu"]', '"backends": "cpu"', "field 'backends': must be a list"),
        (
            '"metadata": {',
            '"metadata": {"\\ud83d": 1, ',
            "field 'metadata': contains a lone surrogate",
        ),
    ],
)
def test_hostile_values_in_a_real_entry(old: str, new: str, words: str | None) -> None:
    assert old in SEED_ENTRY_TEXT
    data = SEED_ENTRY_TEXT.replace(old, new).encode("utf-8", "surrogateescape")
    if words is None:
        assert parse_catalog(data).models[0].metadata["context_length"] == 10**400
        return
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, Path("catalog.json"))
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


ENTRY_FIELD_NAMES = [
    "id",
    "name",
    "path",
    "format",
    "size_gb",
    "architecture",
    "downloaded",
    "backends",
    "metadata",
    "extra",
]


@SETTINGS
@given(entries(), st.sampled_from(ENTRY_FIELD_NAMES), mutation_values, st.booleans())
def test_fast_validation_agrees_with_the_rules(
    entry: ModelEntry, field: str, value: Any, in_metadata: bool
) -> None:
    from rbee.catalog.entry import _entry_is_valid

    assert _entry_is_valid(entry)
    if in_metadata and isinstance(entry.metadata, dict):
        key = {"id": "repo", "name": "context_length", "path": "quantization"}.get(field, field)
        entry.metadata[key] = value
    else:
        setattr(entry, field, value)
    valid = not list(entry.problems())
    assert _entry_is_valid(entry) is valid
