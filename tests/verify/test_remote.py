"""`llorch pool models verify|record` on the suite's real sshd pools (tests/keeper/conftest.py)."""

from __future__ import annotations

import json

import pytest

from tests.keeper.conftest import HIVE_POOLS
from tests.verify.conftest import Keeper, write_safetensors_model

pytestmark = pytest.mark.ssh

MAC, WORKSTATION = HIVE_POOLS


def _pool_with_a_model(keeper: Keeper, pool: str, seed: int) -> None:
    write_safetensors_model(keeper.workdir(pool) / ".test-models" / "st", seed=seed)
    registered = keeper.hive_locally(
        pool, "models", "register", "st", "--name", "ST", "--architecture", "llama"
    )
    assert registered.returncode == 0, registered.stderr


def test_record_and_verify_through_llorch(keeper: Keeper) -> None:
    for seed, pool in enumerate(HIVE_POOLS):
        _pool_with_a_model(keeper, pool, seed)
    recorded = keeper.run("pool", "models", "record", "st", "--all", "-q")
    assert recorded.returncode == 0, recorded.stderr
    for pool in HIVE_POOLS:
        record = json.loads(keeper.catalog_path(pool).read_text())["models"][0]["record"]
        assert [f["path"] for f in record["files"]] == [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
        ]

    # One pool: exactly what rbee-hive prints there.
    remote = keeper.run("pool", "models", "verify", "--host", MAC)
    local = keeper.hive_locally(MAC, "models", "verify")
    assert (remote.returncode, remote.stdout) == (0, local.stdout)
    assert remote.stdout.decode().startswith("st: ok, 3 file(s), ")

    # A file changed on one pool: exit 1, that pool's report under its name.
    weights = keeper.workdir(WORKSTATION) / ".test-models" / "st" / "model.safetensors"
    with open(weights, "ab") as file:
        file.write(b"\0")
    both = keeper.run("pool", "models", "verify", "--all", "-q")
    assert both.returncode == 1
    text = both.stdout.decode()
    assert f"==> {WORKSTATION} <==" in text
    assert "st: changed model.safetensors (size " in text
    assert text.count("st: changed") == 1


def test_verify_json_through_llorch(keeper: Keeper) -> None:
    _pool_with_a_model(keeper, MAC, 0)
    assert keeper.hive_locally(MAC, "models", "record", "st").returncode == 0
    one = keeper.run("pool", "models", "verify", "--host", MAC, "--json", "--strict")
    assert one.returncode == 0, one.stderr
    document = json.loads(one.stdout)
    assert document["ok"] is True
    assert document["models"][0]["status"] == "ok"


def test_unknown_id_through_llorch(keeper: Keeper) -> None:
    _pool_with_a_model(keeper, MAC, 0)
    before = keeper.catalog_path(MAC).read_bytes()
    result = keeper.run("pool", "models", "record", "nope", "--host", MAC)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().count("\n") == 1
    assert "model 'nope' is not in the catalog" in result.stderr.decode()
    assert keeper.catalog_path(MAC).read_bytes() == before


def test_verify_json_several_pools_one_failing(keeper: Keeper) -> None:
    for seed, pool in enumerate(HIVE_POOLS):
        _pool_with_a_model(keeper, pool, seed)
        assert keeper.hive_locally(pool, "models", "record", "st").returncode == 0
    (keeper.workdir(WORKSTATION) / ".test-models" / "st" / "tokenizer.json").unlink()
    result = keeper.run("pool", "models", "verify", "--all", "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document[MAC]["ok"] is True
    assert document[MAC]["result"]["ok"] is True
    failed = document[WORKSTATION]
    assert (failed["ok"], failed["exit_code"], failed["kind"]) == (False, 1, "hive")
    # The reason is rbee-hive's last stderr line (not a progress line), and the report is kept.
    assert failed["error"] == "verify: not ok: st (1 missing)"
    assert failed["result"]["failed"] == ["st"]
    assert f"error: {WORKSTATION}: verify: not ok: st (1 missing)" in result.stderr.decode()
