"""`llorch fleet` and `llorch pool info` against real sshd pools, one of them unreachable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fit.conftest import MISTRAL, write_gguf
from tests.fleet.conftest import DOWN, MAC, WS, Fleet

pytestmark = pytest.mark.ssh

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "test-models.toml"
TINY_REPO = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
MIB = 1024 * 1024


@pytest.fixture
def seeded(fleet: Fleet) -> Fleet:
    """mac: the four test models, tinyllama downloaded (2.2 GB), mistral a real GGUF;
    workstation: TinyLlama's repo under another id, and qwen-0.5b registered only."""
    fleet.hive(MAC, "models", "register", "--from", str(EXAMPLES), "-q")
    fleet.hive(MAC, "models", "update", "tinyllama", "--downloaded", "--size-gb", "2.2", "-q")
    write_gguf(fleet.workdir(MAC) / ".test-models" / "mistral" / "mistral.gguf", MISTRAL)
    fleet.hive(MAC, "models", "update", "mistral", "--format", "gguf", "--downloaded", "-q")
    fleet.hive(
        WS,
        *("models", "register", "tiny", "--name", "TinyLlama (ws)", "--arch", "llama"),
        *("--repo", TINY_REPO, "--downloaded", "--size-gb", "2.2", "-q"),
    )
    fleet.hive(WS, "models", "register", "qwen-0.5b", "--name", "Qwen", "--arch", "qwen2", "-q")
    return fleet


def test_fleet_json_has_the_documented_shape(seeded: Fleet) -> None:
    done = seeded.llorch("fleet", "--host", MAC, "--host", WS, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert list(document) == ["pools", "models"]
    mac = document["pools"][MAC]
    assert mac["ok"] is True
    assert isinstance(mac["free_bytes"], int)
    assert mac["free_bytes"] > 0
    assert (mac["models"], mac["downloaded"]) == (4, 2)
    rows = {row["id"]: row for row in document["models"]}
    assert set(rows) == {"tinyllama", "tiny", "qwen-0.5b", "phi3", "mistral"}
    assert rows["tinyllama"]["pools"] == {
        MAC: {"downloaded": True, "size_gb": 2.2, "path": ".test-models/tinyllama"}
    }
    assert rows["qwen-0.5b"]["pools"][WS]["downloaded"] is False
    assert set(rows["qwen-0.5b"]["pools"]) == {MAC, WS}
    assert rows["tiny"]["repo"] == TINY_REPO
    # The same repo under two ids: next to each other.
    ids = [row["id"] for row in document["models"]]
    assert abs(ids.index("tiny") - ids.index("tinyllama")) == 1
    # One ssh call per pool.
    assert len(seeded.ssh_calls()) == 2


def test_fleet_table_prints_with_an_unreachable_pool(seeded: Fleet) -> None:
    done = seeded.llorch("fleet")  # every pool in the pools file: mac, workstation, down
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    header = lines[0]
    assert header.split() == ["MODEL", "REPO", MAC, WS, DOWN, "(unreachable)"]
    tiny_row = next(line for line in lines if line.startswith("tinyllama "))
    assert "✅ 2.2 GB" in tiny_row
    assert tiny_row.split()[-2:] == ["-", "?"]
    qwen_row = next(line for line in lines if line.startswith("qwen-0.5b "))
    assert qwen_row.count("❌ registered") == 2
    mac_line = next(line for line in lines if line.startswith(MAC + " "))
    assert "4 models (2 downloaded), 2.2 GB on disk, " in mac_line
    assert " GB free at " in mac_line
    down_line = next(line for line in lines if line.startswith(DOWN + " "))
    assert "unreachable (connect): ssh down.home.arpa: cannot connect" in down_line
    assert len(seeded.ssh_calls()) == 3


def test_fleet_json_marks_the_unreachable_pool(seeded: Fleet) -> None:
    done = seeded.llorch("fleet", "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["pools"][DOWN]["ok"] is False
    assert document["pools"][DOWN]["kind"] == "connect"
    assert "cannot connect" in document["pools"][DOWN]["error"]
    assert document["pools"][MAC]["ok"] is True


def test_fleet_model_by_repo_lists_every_pool_that_has_it(seeded: Fleet) -> None:
    done = seeded.llorch("fleet", "--host", MAC, "--host", WS, "--model", TINY_REPO.upper())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["POOL", "ID", "DOWNLOADED", "SIZE", "PATH"]
    assert lines[1].split() == [MAC, "tinyllama", "yes", "2.2", "GB", ".test-models/tinyllama"]
    assert lines[2].split() == [WS, "tiny", "yes", "2.2", "GB", ".test-models/tiny"]


def test_fleet_model_nowhere_exits_1(seeded: Fleet) -> None:
    done = seeded.llorch("fleet", "--host", MAC, "--model", "gemma")
    assert done.returncode == 1
    assert "gemma is on none of the pools that answered" in done.stdout


def test_fleet_fit_gives_the_verdict_per_pool(seeded: Fleet) -> None:
    done = seeded.llorch(
        "fleet", "--host", MAC, "--host", WS, "--fit", "mistral", "--ctx", "4096", "--json"
    )
    assert done.returncode == 0, done.stderr
    pools = json.loads(done.stdout)["pools"]
    fit = pools[MAC]["fit"]
    assert fit["estimate"]["kv_bytes"] == 512 * MIB
    assert fit["estimate"]["n_ctx"] == 4096
    assert fit["verdict"]["kind"] in ("gpu", "partial", "cpu", "none")
    assert pools[MAC]["hardware"]["cpu_cores"] >= 1
    assert "not in the catalog" in pools[WS]["fit"]["error"]
    text = seeded.llorch("fleet", "--host", MAC, "--host", WS, "--fit", "mistral")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("fit of mistral:\nPOOL")
    assert fit["verdict"]["message"].split(":")[0] in text.stdout


def test_pool_info_over_ssh(seeded: Fleet) -> None:
    done = seeded.llorch("pool", "info", "--host", MAC, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document[MAC]["ok"] is True
    assert document[MAC]["pool_id"] == MAC
    assert document[MAC]["cpu_cores"] >= 1
    assert document[MAC]["disk"]["free_bytes"] > 0
    text = seeded.llorch("pool", "info", "--host", MAC, "--host", DOWN)
    assert text.returncode == 1
    assert text.stdout.startswith(f"==> {MAC} <==\npool      {MAC}\n")
    assert text.stderr.startswith(f"error: {DOWN}: ssh {DOWN}: cannot connect")


def test_pool_info_needs_a_pool(seeded: Fleet) -> None:
    done = seeded.llorch("pool", "info")
    assert done.returncode == 2
    assert done.stderr.startswith("error: name a pool with --host NAME, or use --all")


def test_fleet_without_pools_says_how_to_add_them(fleet: Fleet, tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    done = fleet.llorch("--pools", str(empty), "fleet")
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: no pools are configured in {empty}; add [pools.")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("model", "why"),
    [
        ("nope", f"nope: it is in no catalog of the pools that answered ({MAC}, {WS})"),
        ("qwen-0.5b", f"qwen-0.5b: it is not downloaded on any pool (registered on {MAC}, {WS})"),
    ],
)
@pytest.mark.parametrize("json_output", [False, True])
def test_fleet_fit_without_any_verdict_exits_1_and_says_why(
    seeded: Fleet, model: str, why: str, json_output: bool
) -> None:
    """As `--model` with a model nowhere: exit 1 when no pool could give a verdict."""
    extra = ("--json",) if json_output else ()
    done = seeded.llorch("fleet", "--host", MAC, "--host", WS, "--fit", model, *extra)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: no pool could give a verdict on {why}"]
    if json_output:
        assert set(json.loads(done.stdout)["pools"]) == {MAC, WS}
    else:
        assert done.stdout.startswith(f"fit of {model}:\nPOOL")
