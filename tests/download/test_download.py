"""`rbee-hive models download` end to end: the real console script, the real huggingface_hub
client, a local server speaking the Hub's protocol. Every case checks the catalog and the model
folder afterwards."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from rbee.workflows.download import EmptyRevisionError, download_model
from tests.download.conftest import (
    COMMIT,
    SAFETENSORS_SELECTED,
    Pool,
    gguf_repo,
    safetensors_repo,
)
from tests.hubserver import FakeHub


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_untouched(pool: Pool, model_id: str, before: bytes) -> None:
    assert pool.catalog.read_bytes() == before
    assert pool.files_in(model_id) == []
    assert pool.entry(model_id)["downloaded"] is False
    assert "record" not in pool.entry(model_id)


def test_safetensors_repo(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    source = tmp_path / "src"
    safetensors_repo(hub, source)
    pool.register("tiny", "org/tiny-st")

    result = pool.run("models", "download", "tiny", "--json")

    assert result.code == 0, result
    document = json.loads(result.out)
    (model,) = document["models"]
    assert model["commit"] == COMMIT
    assert model["status"] == "downloaded"
    assert [f["path"] for f in model["files"]] == SAFETENSORS_SELECTED
    # The model folder holds exactly the selected files, byte for byte, and nothing partial.
    assert pool.files_in("tiny") == SAFETENSORS_SELECTED
    for name in SAFETENSORS_SELECTED:
        assert (pool.model_dir("tiny") / name).read_bytes() == (source / name).read_bytes()
    assert not pool.partial_dir().exists()
    assert not (pool.hf_home / "hub").exists()  # never the Hugging Face cache
    # The catalog: downloaded, size, metadata from the headers, the record.
    entry = pool.entry("tiny")
    total = sum((source / name).stat().st_size for name in SAFETENSORS_SELECTED)
    assert entry["downloaded"] is True
    assert entry["size_gb"] == pytest.approx(total / 1e9)
    assert entry["format"] == "safetensors"
    assert entry["metadata"]["context_length"] == 2048
    assert entry["metadata"]["vocab_size"] == 32000
    record = entry["record"]
    assert record["source"] == {
        "type": "huggingface",
        "repo": "org/tiny-st",
        "revision": "main",
        "commit": COMMIT,
    }
    assert record["files"] == [
        {"path": name, "size": (source / name).stat().st_size, "sha256": sha256(source / name)}
        for name in SAFETENSORS_SELECTED
    ]
    # `show` displays the record.
    shown = pool.run("models", "show", "tiny")
    assert shown.code == 0
    assert f"huggingface org/tiny-st@main (commit {COMMIT[:12]})" in shown.out
    assert "model-00001-of-00002.safetensors" in shown.out

    # A second run transfers nothing and leaves the catalog file as it is.
    before = pool.catalog.read_bytes()
    hub.clear_log()
    again = pool.run("models", "download", "tiny")
    assert again.code == 0, again
    assert "nothing transferred" in again.out
    assert hub.downloads() == []
    assert pool.catalog.read_bytes() == before

    # --force fetches everything again.
    forced = pool.run("models", "download", "tiny", "--force", "-q")
    assert forced.code == 0, forced
    assert forced.out == ""
    assert forced.err == ""
    assert hub.bytes_sent() == total
    assert pool.files_in("tiny") == SAFETENSORS_SELECTED


def test_gguf_quant_selection(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    source = tmp_path / "src"
    gguf_repo(hub, source)
    pool.register("tg", "org/tiny-gguf")
    before = pool.catalog.read_bytes()

    # Several quantizations and no --quant: the error lists them with their sizes.
    ambiguous = pool.run("models", "download", "tg")
    assert ambiguous.code == 1
    (line,) = ambiguous.err.splitlines()
    assert line.startswith(
        "error: tg: org/tiny-gguf@main has 3 quantizations; choose one with --quant"
    )
    for label in ("F16 (0.0 GB, 2 parts)", "Q4_K_M (0.0 GB)", "Q8_0 (0.0 GB)"):
        assert label in line
    assert "mmproj" not in line
    assert_untouched(pool, "tg", before)

    # A quantization the repo does not have: the list again.
    missing = pool.run("models", "download", "tg", "--quant", "Q5_K_S")
    assert missing.code == 1
    assert "has no Q5_K_S GGUF; available quantizations: F16" in missing.err
    assert_untouched(pool, "tg", before)

    # Any case matches; only that file comes; format and metadata come from its header.
    chosen = pool.run("models", "download", "tg", "--quant", "q4_k_m")
    assert chosen.code == 0, chosen
    assert pool.files_in("tg") == ["tiny-Q4_K_M.gguf"]
    entry = pool.entry("tg")
    assert entry["format"] == "gguf"  # registered with the default, safetensors
    assert entry["downloaded"] is True
    assert entry["metadata"]["quantization"] == "Q4_K_M"
    assert entry["metadata"]["context_length"] == 4096
    assert [f["path"] for f in entry["record"]["files"]] == ["tiny-Q4_K_M.gguf"]
    assert entry["record"]["files"][0]["sha256"] == sha256(source / "tiny-Q4_K_M.gguf")

    # A lower-case file name, picked by its upper-case quantization.
    pool.register("tg8", "org/tiny-gguf")
    q8 = pool.run("models", "download", "tg8", "--quant", "Q8_0")
    assert q8.code == 0, q8
    assert pool.files_in("tg8") == ["tiny-q8_0.gguf"]

    # A split GGUF: every part comes.
    pool.register("tg16", "org/tiny-gguf", format="gguf")
    f16 = pool.run("models", "download", "tg16", "--quant", "f16")
    assert f16.code == 0, f16
    parts = ["tiny-F16-00001-of-00002.gguf", "tiny-F16-00002-of-00002.gguf"]
    assert pool.files_in("tg16") == parts
    entry = pool.entry("tg16")
    assert [f["path"] for f in entry["record"]["files"]] == parts
    total = sum((source / p).stat().st_size for p in parts)
    assert entry["size_gb"] == pytest.approx(total / 1e9)

    # --include replaces the rule.
    pool.register("proj", "org/tiny-gguf")
    included = pool.run("models", "download", "proj", "--include", "mmproj-*", "--include", "*.md")
    assert included.code == 0, included
    assert pool.files_in("proj") == ["README.md", "mmproj-tiny-f16.gguf"]


def test_catalog_quantization_is_the_default_quant(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    gguf_repo(hub, tmp_path / "src")
    pool.register("tg", "org/tiny-gguf", format="gguf", quantization="Q8_0")
    result = pool.run("models", "download", "tg")
    assert result.code == 0, result
    assert pool.files_in("tg") == ["tiny-q8_0.gguf"]
    assert pool.entry("tg")["metadata"]["quantization"] == "Q8_0"


def test_dry_run(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    source = tmp_path / "src"
    safetensors_repo(hub, source)
    pool.register("tiny", "org/tiny-st")
    before = pool.catalog.read_bytes()

    result = pool.run("models", "download", "tiny", "--dry-run")

    assert result.code == 0, result
    total = sum((source / name).stat().st_size for name in SAFETENSORS_SELECTED)
    lines = result.out.splitlines()
    assert lines[0].startswith(
        f"tiny: org/tiny-st@main (commit {COMMIT[:12]}) -> .test-models/tiny"
    )
    for name in SAFETENSORS_SELECTED:
        assert any(line.strip().startswith(name) and "download" in line for line in lines)
    assert any(
        f"total {total / 1000:.1f} kB in {len(SAFETENSORS_SELECTED)} file(s)" in line
        and "free at the destination" in line
        for line in lines
    ), lines
    assert "dry run: nothing was written" in result.out
    assert hub.downloads() == []
    assert_untouched(pool, "tiny", before)
    assert not pool.partial_dir().exists()

    as_json = pool.run("models", "download", "tiny", "--dry-run", "--json")
    assert as_json.code == 0
    (model,) = json.loads(as_json.out)["models"]
    assert model["status"] == "planned"
    assert model["total_bytes"] == total
    assert model["missing_bytes"] == total
    assert model["free_bytes"] > 0
    assert {f["action"] for f in model["files"]} == {"download"}
    assert_untouched(pool, "tiny", before)


def test_errors_are_one_line_and_change_nothing(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    safetensors_repo(hub, tmp_path / "src")
    gated = hub.repo("org/gated", COMMIT)
    gated.add_folder(tmp_path / "src")
    gated.gated_token = "hf_secret"
    hub.repo("org/readme-only", COMMIT).add("README.md", data=b"# nothing\n")
    hub.repo("org/evil", COMMIT).add("../escape.safetensors", data=b"x" * 100)
    pool.register("norepo", None)
    pool.register("gone", "org/does-not-exist")
    pool.register("tiny", "org/tiny-st")
    pool.register("gated", "org/gated")
    pool.register("empty", "org/readme-only")
    pool.register("onefile", "org/tiny-st", path="models/one.gguf")
    pool.register("evil", "org/evil")
    before = pool.catalog.read_bytes()

    def error_of(*args: str, env: dict[str, str] | None = None) -> str:
        result = pool.run("models", "download", *args, env=env)
        assert result.code == 1, result
        assert result.out == ""
        (line,) = result.err.splitlines()
        assert line.startswith("error: ")
        assert pool.catalog.read_bytes() == before
        return line

    assert "has no repo to download from" in error_of("norepo")
    # Each error names the model first: with several ids, the repo alone would not say which.
    assert error_of("gone").startswith(
        f"error: gone: repo org/does-not-exist not found on {hub.url}"
    )
    assert error_of("tiny", "--revision", "nope") == (
        "error: tiny: revision 'nope' not found in repo org/tiny-st (a branch, tag or commit)"
    )
    gated_line = error_of("gated")
    assert "is gated or private (401" in gated_line
    assert "accept its licence" in gated_line
    assert "HF_TOKEN" in gated_line
    assert "has no .safetensors files (it has README.md" in error_of("empty")
    assert "no file matches --include '*.gguf'" in error_of("tiny", "--include", "*.gguf")
    offline = error_of("tiny", env=pool.env(HF_HUB_OFFLINE="1"))
    assert "HF_HUB_OFFLINE is set: downloading needs the Hub" in offline
    assert "not in the catalog" in error_of("nosuch")
    assert "has an unsafe file path '../escape.safetensors'" in error_of("evil")
    assert not (pool.root / ".test-models" / "escape.safetensors").exists()
    assert "its path models/one.gguf names a file; downloads go into a folder" in error_of(
        "onefile"
    )
    # An empty revision is a usage error, not a silent `main`.
    for empty in ("", " "):
        refused = pool.run("models", "download", "tiny", "--revision", empty)
        assert (refused.code, refused.out) == (2, ""), refused
        assert refused.err == (
            "error: --revision needs a branch, tag or commit; leave it out for main\n"
        )
    with pytest.raises(EmptyRevisionError, match="the revision is empty"):
        download_model(str(pool.catalog), "tiny", str(pool.root), revision="")
    assert pool.catalog.read_bytes() == before
    for model_id in ("tiny", "gated", "empty"):
        assert pool.files_in(model_id) == []
    assert not pool.partial_dir().exists()
    assert hub.downloads() == []

    # With the token, the gated repo downloads: from HF_TOKEN, or saved by `hf auth login`.
    allowed = pool.run("models", "download", "gated", env=pool.env(HF_TOKEN="hf_secret"))
    assert allowed.code == 0, allowed
    assert pool.files_in("gated") == SAFETENSORS_SELECTED
    assert pool.entry("gated")["downloaded"] is True
    pool.register("gated2", "org/gated")
    pool.hf_home.mkdir(parents=True, exist_ok=True)
    (pool.hf_home / "token").write_text("hf_secret")  # where `hf auth login` saves it
    saved = pool.run("models", "download", "gated2")
    assert saved.code == 0, saved
    assert pool.files_in("gated2") == SAFETENSORS_SELECTED
    assert all(r.headers.get("authorization") == "Bearer hf_secret" for r in hub.downloads())


def test_unreachable_endpoint(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    safetensors_repo(hub, tmp_path / "src")
    pool.register("tiny", "org/tiny-st")
    before = pool.catalog.read_bytes()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    endpoint = f"http://127.0.0.1:{port}"

    result = pool.run("models", "download", "tiny", env=pool.env(HF_ENDPOINT=endpoint), timeout=60)

    assert result.code == 1, result
    (line,) = result.err.splitlines()
    assert line.startswith(f"error: tiny: cannot reach the Hub at {endpoint}: ")
    assert "HF_ENDPOINT" in line
    assert_untouched(pool, "tiny", before)


def test_not_enough_space_is_refused_before_any_byte(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    repo = safetensors_repo(hub, tmp_path / "src")
    repo.files["model-00002-of-00002.safetensors"].declared_size = 10**17  # 100 PB
    pool.register("tiny", "org/tiny-st")
    before = pool.catalog.read_bytes()

    result = pool.run("models", "download", "tiny")

    assert result.code == 1, result
    (line,) = result.err.splitlines()
    assert line.startswith("error: tiny: needs 100000000.0 GB, ")
    assert " GB free on " in line
    assert hub.downloads() == []  # not one byte was asked for
    assert_untouched(pool, "tiny", before)
    assert not pool.partial_dir().exists()


def test_corrupted_file_is_discarded(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    repo = safetensors_repo(hub, tmp_path / "src")
    repo.files["model-00002-of-00002.safetensors"].corrupt = True
    pool.register("tiny", "org/tiny-st")
    before = pool.catalog.read_bytes()

    result = pool.run("models", "download", "tiny")

    assert result.code == 1, result
    (line,) = [x for x in result.err.splitlines() if x.startswith("error: ")]
    assert line.startswith("error: tiny: model-00002-of-00002.safetensors: sha256 mismatch")
    assert "discarded" in line
    assert pool.catalog.read_bytes() == before
    # The corrupted file never took its name, and its partial is gone; files checked before
    # it are complete and verified, and the next run keeps them.
    assert "model-00002-of-00002.safetensors" not in pool.files_in("tiny")
    assert pool.partial_files() == []

    repo.files["model-00002-of-00002.safetensors"].corrupt = False
    hub.clear_log()
    fixed = pool.run("models", "download", "tiny")
    assert fixed.code == 0, fixed
    assert [r.path.rsplit("/", 1)[-1] for r in hub.downloads()] == [
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "params.json",
        "tokenizer.json",
        "tokenizer.model",
        "vocab.json",
    ]
    assert pool.files_in("tiny") == SAFETENSORS_SELECTED
    assert pool.entry("tiny")["downloaded"] is True


def test_a_corrupted_small_file_fails_its_git_sha1(
    pool: Pool, hub: FakeHub, tmp_path: Path
) -> None:
    repo = safetensors_repo(hub, tmp_path / "src")
    repo.files["config.json"].corrupt = True
    pool.register("tiny", "org/tiny-st")
    result = pool.run("models", "download", "tiny")
    assert result.code == 1
    assert "error: tiny: config.json: git blob sha1 mismatch" in result.err
    assert "config.json" not in pool.files_in("tiny")
    assert pool.entry("tiny")["downloaded"] is False
