"""The fake Hub is faithful enough for the real client: `huggingface_hub.snapshot_download`
(HEAD metadata, etags, commits, ranges) fetches the same bytes from it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.download.conftest import COMMIT, SAFETENSORS_SELECTED, Pool, safetensors_repo
from tests.hubserver import FakeHub


def test_the_real_client_downloads_from_the_fake_hub(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    from huggingface_hub import HfApi, snapshot_download

    source = tmp_path / "src"
    safetensors_repo(hub, source)
    target = tmp_path / "out"
    snapshot_download(
        "org/tiny-st",
        local_dir=target,
        endpoint=hub.url,
        allow_patterns=["*.safetensors", "config.json"],
    )
    for name in ("config.json", "model-00001-of-00002.safetensors"):
        assert (target / name).read_bytes() == (source / name).read_bytes()
    info = HfApi(endpoint=hub.url).model_info("org/tiny-st")
    assert info.sha == COMMIT
    tree = {
        f.path: f for f in HfApi(endpoint=hub.url).list_repo_tree("org/tiny-st", recursive=True)
    }
    weights = tree["model-00001-of-00002.safetensors"]
    expected = hashlib.sha256((source / "model-00001-of-00002.safetensors").read_bytes())
    assert weights.lfs is not None  # type: ignore[union-attr]
    assert weights.lfs.sha256 == expected.hexdigest()  # type: ignore[union-attr]


def test_a_tag_or_a_commit_as_the_revision(pool: Pool, hub: FakeHub, tmp_path: Path) -> None:
    repo = safetensors_repo(hub, tmp_path / "src")
    repo.branches["v1.0"] = COMMIT
    pool.register("tiny", "org/tiny-st")
    pool.register("pinned", "org/tiny-st")

    tagged = pool.run("models", "download", "tiny", "--revision", "v1.0")
    pinned = pool.run("models", "download", "pinned", "--revision", COMMIT)

    assert tagged.code == 0, tagged
    assert pinned.code == 0, pinned
    assert pool.entry("tiny")["record"]["source"]["revision"] == "v1.0"
    assert pool.entry("tiny")["record"]["source"]["commit"] == COMMIT
    assert pool.entry("pinned")["record"]["source"]["revision"] == COMMIT
    assert pool.files_in("pinned") == SAFETENSORS_SELECTED
    # Every file came from the resolved commit, never from a moving branch name.
    assert all(f"/resolve/{COMMIT}/" in r.path for r in hub.downloads())
