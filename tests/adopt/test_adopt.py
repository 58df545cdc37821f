"""`adopt_models` on stores laid out as their tools write them (see conftest.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import ModelEntry, edit_catalog
from rbee.workflows.adopt import AdoptReport, adopt_models, derive_id, unique_id
from rbee.workflows.errors import WorkflowError
from tests.adopt.conftest import (
    HfCache,
    Machine,
    config_json,
    point_lmstudio,
    safetensors_bytes,
    sha256,
    tree_state,
)

COMMIT = "1f2e3d4c5b6a79880716253443526170a9b8c7d6"
OLD_COMMIT = "0" * 39 + "1"


def adopt(machine: Machine, *sources: str, dry_run: bool = False) -> AdoptReport:
    return adopt_models(
        str(machine.catalog),
        str(machine.root),
        list(sources) or None,
        dry_run=dry_run,
        pool_id="test.pool",
        environ=machine.env,
    )


def record_of(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in entry["record"]["files"]}


def assert_record_true(machine: Machine, entry: dict[str, Any]) -> None:
    """Every recorded file exists where the entry says, with that size and sha256."""
    path = Path(entry["path"])
    path = path if path.is_absolute() else machine.root / path
    directory = path if path.is_dir() else path.parent
    for item in entry["record"]["files"]:
        data = (directory / item["path"]).read_bytes()
        assert (len(data), sha256(data)) == (item["size"], item["sha256"]), item["path"]


# -- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("Qwen2.5-0.5B-Instruct-Q4_K_M", "qwen2.5-0.5b-instruct-q4_k_m"),
        ("llama3.2:3b", "llama3.2-3b"),
        ("Mistral 7B  Instruct (v0.2)", "mistral-7b-instruct-v0.2"),
        ("--café--", "cafe"),
        ("日本語", "model"),
        ("x" * 80, "x" * 64),
        ("__init", "init"),
    ],
)
def test_ids_are_derived_the_same_way_every_time(hint: str, expected: str) -> None:
    assert derive_id(hint) == expected
    assert derive_id(hint) == derive_id(hint)
    ModelEntry(id=derive_id(hint), name="n", architecture="llama")  # valid per the catalog


def test_a_taken_id_gets_a_numbered_suffix_ignoring_case() -> None:
    assert unique_id("phi3", set()) == "phi3"
    assert unique_id("phi3", {"phi3"}) == "phi3-2"
    assert unique_id("Phi3", {"phi3", "phi3-2"}) == "Phi3-3"
    long = "a" * 64
    assert unique_id(long, {long}) == "a" * 62 + "-2"


# -- the Hugging Face cache ---------------------------------------------------------------------


def test_hf_cache_snapshots_are_adopted_in_place_with_hashes_from_blob_names(
    machine: Machine,
) -> None:
    q4 = machine.gguf(arch="qwen2", name="Qwen2.5 0.5B Instruct", file_type=15)
    q8 = machine.gguf(arch="qwen2", name="Qwen2.5 0.5B Instruct", file_type=7)
    mmproj = machine.projector()
    gguf_snapshot = machine.hf.add(
        "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        {
            "qwen2.5-0.5b-instruct-q4_k_m.gguf": q4,
            "qwen2.5-0.5b-instruct-q8_0.gguf": q8,
            "mmproj-qwen2.5-f16.gguf": mmproj,
            "README.md": b"# Qwen\n",
        },
        commit=COMMIT,
    )
    shards = {
        "model-00001-of-00002.safetensors": safetensors_bytes(1),
        "model-00002-of-00002.safetensors": safetensors_bytes(2),
    }
    index = {
        "metadata": {"total_size": 1},
        "weight_map": {
            "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
            "model.norm.weight": "model-00002-of-00002.safetensors",
        },
    }
    st_snapshot = machine.hf.add(
        "Qwen/Qwen2.5-0.5B-Instruct",
        {
            **shards,
            "model.safetensors.index.json": json.dumps(index).encode(),
            "config.json": config_json(),
            "tokenizer.json": b"{}",
        },
        commit=COMMIT,
    )
    report = adopt(machine, "hf")
    entries = machine.entries()
    assert sorted(entries) == [
        "qwen2.5-0.5b-instruct",
        "qwen2.5-0.5b-instruct-q4_k_m",
        "qwen2.5-0.5b-instruct-q8_0",
    ]
    q4_entry = entries["qwen2.5-0.5b-instruct-q4_k_m"]
    assert q4_entry["path"] == str(gguf_snapshot / "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    assert q4_entry["format"] == "gguf"
    assert q4_entry["architecture"] == "qwen2"
    assert q4_entry["name"] == "Qwen2.5 0.5B Instruct"
    assert q4_entry["downloaded"] is True
    assert q4_entry["metadata"]["quantization"] == "Q4_K_M"
    assert q4_entry["metadata"]["repo"] == "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
    assert q4_entry["size_gb"] == round(len(q4) / 1e9, 9)
    assert q4_entry["record"]["source"] == {
        "type": "hf-cache",
        "repo": "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        "revision": "main",
        "commit": COMMIT,
    }
    # The projector belongs to each quantization; README.md is no part of a GGUF model.
    assert sorted(record_of(q4_entry)) == [
        "mmproj-qwen2.5-f16.gguf",
        "qwen2.5-0.5b-instruct-q4_k_m.gguf",
    ]
    st_entry = entries["qwen2.5-0.5b-instruct"]
    assert st_entry["path"] == str(st_snapshot)
    assert st_entry["format"] == "safetensors"
    assert st_entry["architecture"] == "qwen2"
    assert st_entry["metadata"]["context_length"] == 32768
    assert sorted(record_of(st_entry)) == sorted(
        [*shards, "model.safetensors.index.json", "config.json", "tokenizer.json"]
    )
    for entry in entries.values():
        assert_record_true(machine, entry)
    by_id = {m.id: m for m in report.adopted}
    # LFS blobs are named by their sha256: nothing of the GGUF models was hashed here; the
    # safetensors repo's small git files (config, index, tokenizer) were.
    assert by_id["qwen2.5-0.5b-instruct-q4_k_m"].hashed_files == 0
    assert by_id["qwen2.5-0.5b-instruct"].hashed_files == 3
    assert report.problems == []
    # Nothing was copied, moved or linked: the pool root holds only the catalog (and its lock).
    for current, _dirs, names in os.walk(machine.root):
        assert all(name.startswith("catalog.json") for name in names), (current, names)


def test_hf_revision_comes_from_refs_and_an_old_snapshot_of_the_same_blobs_is_one_model(
    machine: Machine,
) -> None:
    data = machine.gguf(arch="llama", name="Tiny")
    machine.hf.add("acme/tiny-GGUF", {"tiny-q4_k_m.gguf": data}, commit=OLD_COMMIT, refs=())
    machine.hf.add("acme/tiny-GGUF", {"tiny-q4_k_m.gguf": data}, commit=COMMIT, refs=("v1.0",))
    report = adopt(machine, "hf")
    assert [m.id for m in report.adopted] == ["tiny-q4_k_m"]
    entry = machine.entries()["tiny-q4_k_m"]
    assert entry["record"]["source"]["revision"] == "v1.0"
    assert entry["record"]["source"]["commit"] == COMMIT
    assert [a.reason for a in report.already] == [
        "same files as Hugging Face cache: acme/tiny-GGUF (v1.0) tiny-q4_k_m.gguf"
    ]


def test_a_broken_symlink_is_reported_and_the_rest_adopted(machine: Machine) -> None:
    snapshot = machine.hf.add(
        "acme/two-GGUF",
        {"two-q4_k_m.gguf": machine.gguf(name="Two"), "two-q8_0.gguf": machine.gguf(file_type=7)},
        commit=COMMIT,
    )
    target = (snapshot / "two-q8_0.gguf").resolve()
    target.unlink()  # the blob is gone, the snapshot's link stays
    st = machine.hf.add(
        "acme/st",
        {"model.safetensors": safetensors_bytes(), "config.json": config_json()},
        commit=COMMIT,
    )
    (st / "model.safetensors").resolve().unlink()
    report = adopt(machine, "hf")
    assert [m.id for m in report.adopted] == ["two-q4_k_m"]
    problems = {p.where: p.message for p in report.problems}
    assert "broken symlink" in problems[str(snapshot / "two-q8_0.gguf")]
    assert "broken symlink" in problems[str(st / "model.safetensors")]
    assert sorted(machine.entries()) == ["two-q4_k_m"]


# -- Ollama ---------------------------------------------------------------------------------------


def test_ollama_manifests_are_adopted_with_the_projector_and_blob_digests(
    machine: Machine,
) -> None:
    llama = machine.gguf(arch="llama", name="Llama 3.2 3B Instruct")
    llava = machine.gguf(arch="llama", name="LLaVA 7B", file_type=2)
    projector = machine.projector()
    machine.ollama.add("llama3.2", "latest", llama)
    machine.ollama.add("llama3.2", "3b", llama)  # a second tag of the same blobs
    machine.ollama.add("llava", "7b", llava, projector=projector, file_type="Q4_0")
    report = adopt(machine, "ollama")
    entries = machine.entries()
    assert sorted(entries) == ["llama3.2", "llava-7b"]
    blobs = machine.ollama.root / "blobs"
    llava_entry = entries["llava-7b"]
    assert llava_entry["path"] == str(blobs / f"sha256-{sha256(llava)}")
    assert llava_entry["architecture"] == "llama"
    assert llava_entry["metadata"]["quantization"] == "Q4_0"
    assert sorted(record_of(llava_entry)) == sorted(
        [f"sha256-{sha256(llava)}", f"sha256-{sha256(projector)}"]
    )
    assert llava_entry["record"]["source"] == {
        "type": "ollama",
        "name": "llava:7b",
        "manifest": "registry.ollama.ai/library/llava/7b",
    }
    for entry in entries.values():
        assert_record_true(machine, entry)
    assert all(m.hashed_files == 0 for m in report.adopted)  # every blob is named by its hash
    assert [a.path for a in report.already] == [str(blobs / f"sha256-{sha256(llama)}")]
    # `models scan` reads the extension-less blob as the GGUF it is, and agrees.
    scan = machine.hive("models", "scan", "--json")
    assert scan.returncode == 0, scan.stderr
    assert json.loads(scan.stdout)["changed"] == []


def test_a_manifest_naming_a_missing_blob_is_reported_and_the_rest_adopted(
    machine: Machine,
) -> None:
    gone = machine.gguf(name="Gone")
    machine.ollama.add("gone", "latest", gone)
    machine.ollama.add("kept", "1b", machine.gguf(name="Kept"))
    (machine.ollama.root / "blobs" / f"sha256-{sha256(gone)}").unlink()
    report = adopt(machine, "ollama")
    assert [m.id for m in report.adopted] == ["kept-1b"]
    (problem,) = report.problems
    assert "gone:latest" in problem.where
    assert f"names blob sha256-{sha256(gone)}, which is missing" in problem.message


def test_ollama_in_the_home_is_found_when_ollama_models_is_unset(machine: Machine) -> None:
    machine.ollama.add("phi3", "mini", machine.gguf(arch="phi3", name="Phi 3"))
    env = {k: v for k, v in machine.env.items() if k != "OLLAMA_MODELS"}
    report = adopt_models(
        str(machine.catalog), str(machine.root), ["ollama"], pool_id="p", environ=env
    )
    assert [m.id for m in report.adopted] == ["phi3-mini"]


# -- LM Studio -----------------------------------------------------------------------------------


def test_lmstudio_home_is_the_folder_the_pointer_names(machine: Machine) -> None:
    point_lmstudio(machine)
    machine.lmstudio.add(
        "lmstudio-community",
        "Qwen2.5-7B-Instruct-GGUF",
        {
            "Qwen2.5-7B-Instruct-Q4_K_M.gguf": machine.gguf(arch="qwen2", name="Qwen2.5 7B"),
            "mmproj-model-f16.gguf": machine.projector(),
        },
    )
    # ~/.lmstudio exists too, but the pointer wins, as in LM Studio.
    stale = machine.home / ".lmstudio" / "models" / "old" / "Old-GGUF"
    stale.mkdir(parents=True)
    (stale / "old.gguf").write_bytes(machine.gguf(name="Old"))
    report = adopt(machine, "lmstudio")
    assert [m.id for m in report.adopted] == ["qwen2.5-7b-instruct-q4_k_m"]
    entry = machine.entries()["qwen2.5-7b-instruct-q4_k_m"]
    assert entry["metadata"]["repo"] == "lmstudio-community/Qwen2.5-7B-Instruct-GGUF"
    assert entry["record"]["source"]["type"] == "lmstudio"
    assert sorted(record_of(entry)) == ["Qwen2.5-7B-Instruct-Q4_K_M.gguf", "mmproj-model-f16.gguf"]
    assert report.adopted[0].hashed_files == 2  # LM Studio names no hashes: computed
    assert_record_true(machine, entry)


def test_without_a_pointer_lmstudio_is_found_in_the_home(machine: Machine) -> None:
    folder = machine.home / ".lmstudio" / "models" / "bartowski" / "Phi-3-GGUF"
    folder.mkdir(parents=True)
    (folder / "Phi-3-mini-Q4_K_M.gguf").write_bytes(machine.gguf(arch="phi3"))
    assert [m.id for m in adopt(machine, "lmstudio").adopted] == ["phi-3-mini-q4_k_m"]


# -- plain folders, the pool's own folder, idempotence ------------------------------------------


def test_a_folder_dropped_into_the_pool_folder_is_found_with_a_relative_path(
    machine: Machine,
) -> None:
    models = machine.root / ".test-models"
    (models / "tinyllama").mkdir(parents=True)
    (models / "tinyllama" / "model.gguf").write_bytes(machine.gguf(name="TinyLlama"))
    (models / "my-qwen").mkdir()
    (models / "my-qwen" / "model.safetensors").write_bytes(safetensors_bytes())
    (models / "my-qwen" / "config.json").write_bytes(config_json())
    report = adopt(machine)  # no SOURCE: the pool's folder (and stores; none exist here)
    entries = machine.entries()
    assert entries["tinyllama"]["path"] == ".test-models/tinyllama/model.gguf"
    assert entries["my-qwen"]["path"] == ".test-models/my-qwen"
    assert entries["tinyllama"]["record"]["source"] == {"type": "local"}
    assert report.sources == [{"source": "path", "location": str(models)}]
    for entry in entries.values():
        assert_record_true(machine, entry)


def test_a_second_run_adopts_nothing_and_says_so(machine: Machine) -> None:
    machine.hf.add("acme/a-GGUF", {"a-q4_k_m.gguf": machine.gguf(name="A")}, commit=COMMIT)
    machine.ollama.add("b", "latest", machine.gguf(name="B"))
    first = machine.hive("models", "adopt")
    assert first.returncode == 0, first.stderr
    before = machine.catalog.read_bytes()
    second = machine.hive("models", "adopt")
    assert second.returncode == 0, second.stderr
    assert second.stdout == "Nothing to adopt: 2 model(s) found, all already in the catalog\n"
    assert machine.catalog.read_bytes() == before


def test_a_file_in_the_catalog_is_never_adopted_twice_wherever_its_entry_points(
    machine: Machine,
) -> None:
    snapshot = machine.hf.add(
        "acme/c-GGUF", {"c-q4_k_m.gguf": machine.gguf(name="C")}, commit=COMMIT
    )
    with edit_catalog(machine.catalog, create_pool_id="test.pool") as catalog:
        # Registered by hand, pointing at the repo folder (not the snapshot, not the blob).
        catalog.add_model(
            ModelEntry(
                id="mine",
                name="Mine",
                architecture="llama",
                path=str(snapshot.parent.parent),
                format="gguf",
            )
        )
    report = adopt(machine, "hf")
    assert report.adopted == []
    assert [(a.model_id, a.reason) for a in report.already] == [
        ("mine", "already in the catalog as mine")
    ]


def test_a_blob_an_entry_points_at_directly_is_not_adopted_again(machine: Machine) -> None:
    data = machine.gguf(name="D")
    machine.ollama.add("d", "latest", data)
    blob = machine.ollama.root / "blobs" / f"sha256-{sha256(data)}"
    link = machine.root / "d.gguf"
    link.symlink_to(blob)  # an entry whose path is a link to the blob, relative to the root
    with edit_catalog(machine.catalog, create_pool_id="test.pool") as catalog:
        catalog.add_model(ModelEntry(id="d", name="D", architecture="llama", path="d.gguf"))
    assert adopt(machine, "ollama").adopted == []


def test_colliding_ids_get_a_numbered_suffix(machine: Machine) -> None:
    same_name = "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"
    point_lmstudio(machine)
    machine.lmstudio.add("pub", "Qwen-GGUF", {same_name: machine.gguf(name="One")})
    other = machine.scratch.parent / "downloads"
    other.mkdir()
    (other / same_name).write_bytes(machine.gguf(name="Two", file_type=7))
    with edit_catalog(machine.catalog, create_pool_id="test.pool") as catalog:
        catalog.add_model(
            ModelEntry(id="QWEN2.5-0.5B-Instruct-Q4_K_M", name="x", architecture="qwen2")
        )
    report = adopt(machine, "lmstudio", str(other))
    assert [m.id for m in report.adopted] == [
        "qwen2.5-0.5b-instruct-q4_k_m-2",
        "qwen2.5-0.5b-instruct-q4_k_m-3",
    ]
    assert machine.entries()["qwen2.5-0.5b-instruct-q4_k_m-3"]["path"] == str(other / same_name)


def test_dry_run_lists_the_models_and_changes_nothing(machine: Machine) -> None:
    machine.hf.add("acme/e-GGUF", {"e-q4_k_m.gguf": machine.gguf(name="E")}, commit=COMMIT)
    machine.ollama.add("f", "latest", machine.gguf(name="F"))
    before = tree_state(machine.home, machine.root)
    result = machine.hive("models", "adopt", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "Would adopt 2 model(s) (dry run: nothing was written)"
    )
    assert "+ Would adopt e-q4_k_m (gguf" in result.stdout
    assert tree_state(machine.home, machine.root) == before
    assert not machine.catalog.exists()
    report = adopt(machine, dry_run=True)
    assert [m.id for m in report.adopted] == ["e-q4_k_m", "f"]


def test_one_model_file_given_as_a_path(machine: Machine) -> None:
    folder = machine.scratch.parent / "models"
    folder.mkdir()
    target = folder / "phi-3-mini-q4_k_m.gguf"
    target.write_bytes(machine.gguf(arch="phi3", name="Phi 3 Mini"))
    (folder / "unrelated-q8_0.gguf").write_bytes(machine.gguf(name="Other"))
    report = adopt(machine, str(target))
    assert [(m.id, m.path) for m in report.adopted] == [("phi-3-mini-q4_k_m", str(target))]


def test_a_split_gguf_with_a_missing_part_is_reported(machine: Machine) -> None:
    folder = machine.scratch.parent / "split"
    folder.mkdir()
    from tests.modelfiles.conftest import write_gguf

    first = write_gguf(folder / "big.gguf", name="Big", split_max_tensors=1)
    parts = sorted(folder.glob("big-*.gguf"))
    assert first == parts[0]
    assert len(parts) == 3
    report = adopt(machine, str(folder))
    assert [m.id for m in report.adopted] == ["big"]
    assert sorted(record_of(machine.entries()["big"])) == [p.name for p in parts]
    parts[1].unlink()
    with edit_catalog(machine.catalog) as catalog:
        catalog.remove_model("big")
    report = adopt(machine, str(folder))
    assert report.adopted == []
    assert "is missing" in report.problems[0].message


def test_an_unknown_source_path_is_an_error_before_anything_is_read(machine: Machine) -> None:
    with pytest.raises(WorkflowError, match="no-such-folder: no such file or folder"):
        adopt(machine, str(machine.root / "no-such-folder"))
    assert not machine.catalog.exists()


def test_a_store_asked_for_by_name_that_is_not_there_is_an_error(machine: Machine) -> None:
    with pytest.raises(WorkflowError, match="no Ollama store on this machine"):
        adopt(machine, "ollama")


def test_no_test_reads_the_real_stores(machine: Machine) -> None:
    from rbee.stores import hf, lmstudio, ollama

    home = str(machine.home)
    assert hf.cache_path(os.environ).startswith(home)
    assert ollama.candidates_paths(os.environ)[0].startswith(home)
    assert lmstudio.home_candidates(os.environ)[-1].startswith(home)


def test_a_file_name_the_catalog_cannot_hold_leaves_only_that_model_out(
    machine: Machine,
) -> None:
    folder = machine.scratch.parent / "odd"
    folder.mkdir()
    (folder / "good-q4_k_m.gguf").write_bytes(machine.gguf(name="Good"))
    (folder / "back\\slash-q4_k_m.gguf").write_bytes(machine.gguf(name="Back"))
    (folder / "new\nline-q4_k_m.gguf").write_bytes(machine.gguf(name="New"))
    report = adopt(machine, str(folder))
    assert [m.id for m in report.adopted] == ["good-q4_k_m"]
    assert len(report.problems) == 2
    assert all("cannot be registered" in p.message for p in report.problems)


def test_a_vocabulary_only_gguf_is_reported_not_adopted(machine: Machine) -> None:
    folder = machine.scratch.parent / "llama.cpp-models"
    folder.mkdir()
    (folder / "ggml-vocab-llama.gguf").write_bytes(
        machine.gguf(name="vocab", tokens=["a", "b"], tensors={})
    )
    (folder / "tiny-q4_k_m.gguf").write_bytes(machine.gguf(name="Tiny"))
    report = adopt(machine, str(folder))
    assert [m.id for m in report.adopted] == ["tiny-q4_k_m"]
    assert [p.message for p in report.problems] == [
        "holds no weights (a vocabulary-only GGUF?); not adopted"
    ]


def test_a_path_inside_a_cache_snapshot_is_still_the_caches_model(machine: Machine) -> None:
    q4 = machine.gguf(name="K")
    snapshot = machine.hf.add(
        "acme/k-GGUF",
        {"k-q4_k_m.gguf": q4, "k-q8_0.gguf": machine.gguf(name="K", file_type=7)},
        commit=COMMIT,
    )
    report = adopt(machine, str(snapshot / "k-q4_k_m.gguf"))
    assert [m.id for m in report.adopted] == ["k-q4_k_m"]
    entry = machine.entries()["k-q4_k_m"]
    assert entry["record"]["source"]["repo"] == "acme/k-GGUF"
    assert report.adopted[0].hashed_files == 0  # the blob's name is its sha256
    assert record_of(entry)["k-q4_k_m.gguf"]["sha256"] == sha256(q4)


def test_the_real_huggingface_hub_client_writes_the_layout_the_builder_writes(
    machine: Machine, tmp_path: Path
) -> None:
    """`snapshot_download` from a local Hub server fills a real cache; adopt reads it, and the
    builder used by the other tests lays out the same files, links and refs."""
    import subprocess
    import sys

    from tests.hubserver import FakeHub

    files = {
        "tiny-q4_k_m.gguf": machine.gguf(name="Tiny"),
        "config.json": b'{"model_type": "llama"}',
        "sub/README.md": b"# Tiny\n",
    }
    with FakeHub() as hub:
        repo = hub.repo("acme/tiny-GGUF", commit=COMMIT)
        for path, data in files.items():
            repo.add(path, data=data)
        env = {
            **machine.env,
            "HF_ENDPOINT": hub.url,
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_XET": "1",
        }
        download = subprocess.run(
            [
                sys.executable,
                "-c",
                "from huggingface_hub import snapshot_download; "
                "snapshot_download('acme/tiny-GGUF')",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert download.returncode == 0, download.stderr
    real_repo = machine.hf.hub / "models--acme--tiny-GGUF"
    built = HfCache(tmp_path / "built")
    built.add("acme/tiny-GGUF", files, commit=COMMIT)

    def layout(folder: Path) -> set[tuple[str, str]]:
        found = set()
        for current, _dirs, names in os.walk(folder):
            for name in names:
                path = Path(current) / name
                rel = path.relative_to(folder).as_posix()
                if rel.startswith((".no_exist", "trees/")):  # the client's own bookkeeping
                    continue
                found.add(
                    (rel, os.readlink(path) if path.is_symlink() else path.read_text("latin-1"))
                )
        return found

    assert layout(real_repo) == layout(built.hub / "models--acme--tiny-GGUF")
    report = adopt(machine, "hf")
    assert [m.id for m in report.adopted] == ["tiny-q4_k_m"]
    assert report.adopted[0].hashed_files == 0
