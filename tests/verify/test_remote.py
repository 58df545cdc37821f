"""`llorch pool models verify|record` on the suite's real sshd pools (tests/keeper/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from rbee.catalog import ModelEntry, edit_catalog
from rbee.catalog.record import FileDigest, make_record
from tests.keeper.conftest import HIVE_POOLS
from tests.terminal import run_with_stderr_on_a_terminal
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


def _hive_verify_processes() -> list[int]:
    """The rbee-hive verify processes llorch started on the (local) fake pools."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                words = file.read().split(b"\0")
        except OSError:
            continue
        if b"--stop-on-stdin-eof" in words and b"verify" in words:
            found.append(int(entry))
    return found


def test_per_file_lines_come_as_they_go_and_ctrl_c_stops_the_pools(keeper: Keeper) -> None:
    """Off a terminal each pool's per-file lines are relayed under its name; Ctrl-C on llorch
    ends the hashing on the pools (two 500 GB sparse files would take minutes)."""
    for seed, pool in enumerate(HIVE_POOLS):
        _pool_with_a_model(keeper, pool, seed)
        assert keeper.hive_locally(pool, "models", "record", "st").returncode == 0
    lines = keeper.run("pool", "models", "verify", "--all")
    assert lines.returncode == 0, lines.stderr
    err = lines.stderr.decode().splitlines()
    # (The files finish in any order: two are hashed at once.)
    assert any(
        line.startswith(f"{MAC}: [") and line.endswith("] ok  st/model.safetensors  2.3 kB")
        for line in err
    )
    assert sum(line.startswith(f"{WORKSTATION}: [") for line in err) == 3

    folder = keeper.workdir(MAC) / "huge"
    folder.mkdir()
    files = []
    for name in ("a.gguf", "b.gguf"):
        with open(folder / name, "wb") as file:
            file.truncate(500 * 10**9)
        files.append(FileDigest(name, 500 * 10**9, "0" * 64))
    with edit_catalog(keeper.catalog_path(MAC)) as catalog:
        catalog.add_model(
            ModelEntry(
                id="huge",
                name="Huge",
                architecture="llama",
                path="huge",
                format="gguf",
                record=make_record({"type": "local"}, files),
            )
        )
    process = subprocess.Popen(
        [keeper.llorch, "pool", "models", "verify", "huge", "--host", MAC],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=keeper.env,
    )
    try:
        deadline = time.monotonic() + 60
        while not _hive_verify_processes():
            assert time.monotonic() < deadline, "rbee-hive verify never started on the pool"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)  # read on: a full pipe must not hold llorch up
        assert process.returncode == 130
        deadline = time.monotonic() + 60
        while _hive_verify_processes():
            assert time.monotonic() < deadline, "rbee-hive verify still runs on the pool"
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(folder)


def test_llorch_draws_one_line_per_pool_on_a_terminal(keeper: Keeper) -> None:
    for seed, pool in enumerate(HIVE_POOLS):
        _pool_with_a_model(keeper, pool, seed)
        assert keeper.hive_locally(pool, "models", "record", "st").returncode == 0
    (keeper.workdir(MAC) / ".test-models" / "st" / "config.json").write_text("{}")
    done, terminal = run_with_stderr_on_a_terminal(
        [keeper.llorch, "pool", "models", "verify", "--all"], env=keeper.env
    )
    assert done.returncode == 1
    assert "verify 1 model(s)" in terminal  # the pools' task, on llorch's board
    assert f"{MAC}" in terminal
    assert "rbee-progress" not in terminal  # the pools' machine lines are drawn, not shown
    assert f"error: {MAC}: verify: not ok: st (1 changed)" in terminal
    report = done.stdout.decode()
    assert f"==> {MAC} <==" in report
    assert "st: changed config.json" in report
