"""`llorch models copy` between real sshd pools (see conftest.py)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np

from tests.copy.conftest import (
    BIG_BYTES,
    BIG_MODEL,
    BIG_SHARD,
    CALL_TIMEOUT,
    DESTINATIONS,
    LLORCH,
    NO_SPACE,
    SMALL,
    SMALL_FULL,
    SOURCE,
    Pools,
    add_model,
    register,
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_copy_to_two_destinations(pools: Pools) -> None:
    code, document, err = pools.copy_json(
        BIG_MODEL, "--from", SOURCE, "--to", DESTINATIONS[0], "--to", DESTINATIONS[1]
    )
    assert code == 0, err
    assert document["ok"] is True
    source_entry = pools.entry(SOURCE, BIG_MODEL)
    assert source_entry is not None
    assert source_entry["record"]["source"] == {"type": "local"}
    for name in DESTINATIONS:
        result = document["to"][name]
        assert result["status"] == "copied"
        assert result["sent_bytes"] == result["total_bytes"] > BIG_BYTES
        entry = pools.entry(name, BIG_MODEL)
        assert entry is not None
        assert entry["downloaded"] is True
        assert entry["record"]["files"] == source_entry["record"]["files"]
        assert entry["record"]["source"]["type"] == "pool"
        assert entry["record"]["source"]["pool"] == SOURCE
        assert entry["record"]["source"]["from"] == {"type": "local"}
        for key in ("name", "path", "format", "architecture", "backends", "metadata"):
            assert entry[key] == source_entry[key]
        folder = pools.workdir(name) / ".test-models" / BIG_MODEL
        for item in source_entry["record"]["files"]:
            assert _sha(folder / item["path"]) == item["sha256"]
        assert not list((pools.workdir(name) / ".test-models").glob(".rbee-copy*"))
    # Again: nothing to send.
    code, document, err = pools.copy_json(BIG_MODEL, "--from", SOURCE, "--to", DESTINATIONS[0])
    assert code == 0, err
    assert document["to"][DESTINATIONS[0]]["status"] == "up-to-date"
    assert document["to"][DESTINATIONS[0]]["sent_bytes"] == 0


def _children(pid: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append((int(entry), cmdline))
    return found


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_interrupted_copy_resumes_where_it_stopped(pools: Pools) -> None:
    destination = DESTINATIONS[0]
    staging = pools.workdir(destination) / ".test-models" / f".rbee-copy.{BIG_MODEL}"
    partial = staging / "partial" / BIG_SHARD
    # Slowed down (20 MB/s) so the test can cut it halfway without racing it.
    process = subprocess.Popen(
        [LLORCH, "models", "copy", BIG_MODEL, "--from", SOURCE, "--to", destination],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**pools.env, "RBEE_COPY_RATE": "20000000"},
    )
    try:
        _wait_for(
            lambda: partial.exists() and partial.stat().st_size >= 30_000_000,
            "30 MB of the big file",
        )
        receivers = [pid for pid, cmd in _children(process.pid) if b"receive" in cmd]
        assert len(receivers) == 1
        os.kill(receivers[0], signal.SIGKILL)  # the ssh to the destination dies
        _out, err = process.communicate(timeout=CALL_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1
    errors = [line for line in err.decode().splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: to {destination}: the connection was lost during the copy; run the same "
        "command again to resume"
    ]
    assert pools.entry(destination, BIG_MODEL) is None
    assert not (pools.workdir(destination) / ".test-models" / BIG_MODEL).exists()
    # The receiver on the pool notices the end of its stream and keeps what arrived.
    _wait_for(lambda: _lock_free(staging / ".lock"), "the interrupted receiver to exit")
    kept = partial.stat().st_size
    assert 30_000_000 <= kept < BIG_BYTES

    code, document, err_text = pools.copy_json(BIG_MODEL, "--from", SOURCE, "--to", destination)
    assert code == 0, err_text
    result = document["to"][destination]
    source_entry = pools.entry(SOURCE, BIG_MODEL)
    assert source_entry is not None
    sizes = {f["path"]: f["size"] for f in source_entry["record"]["files"]}
    assert result["resumed_bytes"] == kept
    assert result["skipped_files"] == 1  # config.json was complete and verified before the cut
    assert result["sent_bytes"] == result["total_bytes"] - kept - sizes["config.json"]
    entry = pools.entry(destination, BIG_MODEL)
    assert entry is not None
    assert entry["downloaded"] is True
    folder = pools.workdir(destination) / ".test-models" / BIG_MODEL
    source_folder = pools.workdir(SOURCE) / ".test-models" / BIG_MODEL
    assert _sha(folder / BIG_SHARD) == _sha(source_folder / BIG_SHARD)
    assert not staging.exists()


def _lock_free(path: Path) -> bool:
    import fcntl

    with open(path, "rb") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_corrupted_or_missing_source_file_is_refused(pools: Pools) -> None:
    folder = add_model(pools, "small-model")
    assert pools.hive(SOURCE, "models", "record", "small-model").returncode == 0
    shard = folder / BIG_SHARD
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes: only the hash can tell
    shard.write_bytes(bytes(data))
    code, document, err = pools.copy_json("small-model", "--from", SOURCE, "--to", DESTINATIONS[0])
    assert code == 1
    assert document["to"][DESTINATIONS[0]]["ok"] is False
    assert _errors(err) == [
        f"error: to {DESTINATIONS[0]}: {BIG_SHARD}: its sha256 does not match the source's "
        "record: the source file changed since it was recorded (check it with `rbee-hive models "
        "verify small-model` there); nothing was registered"
    ]
    destination = pools.workdir(DESTINATIONS[0]) / ".test-models"
    assert pools.entry(DESTINATIONS[0], "small-model") is None
    assert not (destination / "small-model").exists()
    assert not list(destination.glob(f".rbee-copy.small-model/partial/{BIG_SHARD}"))

    (folder / "tokenizer.json").unlink()
    code, document, err = pools.copy_json("small-model", "--from", SOURCE, "--to", DESTINATIONS[0])
    assert code == 1
    assert _errors(err) == [
        f"error: from {SOURCE}: model 'small-model': source file tokenizer.json is missing (its "
        "record lists it)"
    ]
    assert pools.entry(DESTINATIONS[0], "small-model") is None


def test_model_must_be_on_the_source_and_downloaded(pools: Pools) -> None:
    done = pools.llorch("models", "copy", "nope", "--from", SOURCE, "--to", DESTINATIONS[0])
    assert done.returncode == 1
    catalog = pools.workdir(SOURCE) / ".test-models" / "catalog.json"
    assert _errors(done.stderr) == [
        f"error: from {SOURCE}: model 'nope' is not in the catalog .test-models/catalog.json"
    ] or _errors(done.stderr) == [
        f"error: from {SOURCE}: model 'nope' is not in the catalog {catalog}"
    ]
    register(pools, SOURCE, "not-here", "--not-downloaded")
    done = pools.llorch("models", "copy", "not-here", "--from", SOURCE, "--to", DESTINATIONS[0])
    assert done.returncode == 1
    assert _errors(done.stderr) == [
        f"error: from {SOURCE}: model 'not-here' is not downloaded on this pool: there are no "
        "files to copy"
    ]
    assert not (pools.workdir(DESTINATIONS[0]) / ".test-models").exists()


def test_unknown_pools_are_refused_before_any_connection(pools: Pools) -> None:
    for args, option, name in (
        (("--from", "nope.home.arpa", "--to", DESTINATIONS[0]), "--from", "nope.home.arpa"),
        (("--from", SOURCE, "--to", DESTINATIONS[0], "--to", "nope"), "--to", "nope"),
    ):
        done = pools.llorch("models", "copy", BIG_MODEL, *args)
        assert done.returncode == 1
        assert done.stdout == ""
        assert _errors(done.stderr) == [
            f"error: {option}: unknown pool {name!r}: not in {pools.pools_file} "
            f"({', '.join(pools.configured())})"
        ]
    done = pools.llorch("models", "copy", BIG_MODEL, "--from", SOURCE, "--to", SOURCE)
    assert done.returncode == 2
    assert "that is the pool the model is copied from" in done.stderr


def test_free_space_too_small_is_refused(pools: Pools) -> None:
    code, document, err = pools.copy_json(BIG_MODEL, "--from", SOURCE, "--to", NO_SPACE)
    assert code == 1
    (error,) = _errors(err)
    assert error.startswith(f"error: to {NO_SPACE}: needs 0.1 GB, ")
    assert pools.entry(DESTINATIONS[1], BIG_MODEL) is None
    # CI runs as root, where a small tmpfs can be mounted: a real small disk, not a threshold.
    assert pools.small_dir is not None, "could not mount a small tmpfs for the free-space test"
    code, document, err = pools.copy_json(BIG_MODEL, "--from", SOURCE, "--to", SMALL)
    assert code == 1
    assert document["to"][SMALL]["ok"] is False
    assert _errors(err) == [f"error: to {SMALL}: needs 0.1 GB, 0.0 GB free on {pools.small_dir}"]
    assert list(pools.small_dir.iterdir()) == []  # refused before anything was written
    assert not (pools.small_dir / ".test-models" / BIG_MODEL).exists()
    # With no margin the check passes, and the disk fills up halfway through.
    code, _document, err = pools.copy_json(BIG_MODEL, "--from", SOURCE, "--to", SMALL_FULL)
    assert code == 1
    (error,) = _errors(err)
    assert error.startswith(f"error: to {SMALL_FULL}: the disk is full on this pool")
    assert error.endswith("free some space and run the copy again to resume")
    assert not (pools.small_dir / ".test-models" / BIG_MODEL).exists()
    assert not (pools.small_dir / ".test-models" / "catalog.json").exists()


def test_hostile_names_arrive_exactly_and_run_nothing(pools: Pools, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    hostile = f'it\'s "q" $(touch {canary}) `touch {canary}` ; ünïcødé ✓'
    folder = add_model(pools, "hostile", "--name", hostile, folder="hostile")
    (folder / "sub dir").mkdir()
    # A file name cannot hold '/': this one's command would touch `canary` in the workdir.
    file_name = 'it\'s "q" $(touch canary) `touch canary` ; ünïcødé ✓.json'
    (folder / "sub dir" / file_name).write_text("{}")
    source_name = f"src {hostile}"
    with pools.pools_file.open("a") as file:
        file.write(f'\n[pools."{_toml(source_name)}"]\nssh = "{SOURCE}"\n')
    target = f"models/{hostile}/dir"
    code, document, err = pools.copy_json(
        "hostile", "--from", source_name, "--to", DESTINATIONS[0], "--path", target
    )
    assert code == 0, err
    entry = pools.entry(DESTINATIONS[0], "hostile")
    assert entry is not None
    assert entry["name"] == hostile
    assert entry["path"] == target
    assert entry["record"]["source"]["pool"] == source_name
    assert document["to"][DESTINATIONS[0]]["path"] == target
    copied = pools.workdir(DESTINATIONS[0]) / target / "sub dir" / file_name
    assert copied.read_text() == "{}"
    assert not canary.exists()
    for pool in (SOURCE, DESTINATIONS[0]):
        assert not (pools.workdir(pool) / "canary").exists()


def _toml(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def test_update_replaces_a_different_entry_only_when_asked(pools: Pools) -> None:
    add_model(pools, "upd")
    destination = DESTINATIONS[0]
    register(pools, destination, "upd", "--name", "Another name")
    before = pools.entry(destination, "upd")
    code, document, err = pools.copy_json("upd", "--from", SOURCE, "--to", destination)
    assert code == 1
    (error,) = _errors(err)
    assert error.startswith(
        f"error: to {destination}: model 'upd' is already in the catalog with a different name, "
    )
    assert error.endswith(", record.files; use --update to replace it")
    assert pools.entry(destination, "upd") == before
    assert not (pools.workdir(destination) / ".test-models" / "upd").exists()
    code, document, err = pools.copy_json("upd", "--from", SOURCE, "--to", destination, "--update")
    assert code == 0, err
    assert document["to"][destination]["status"] == "copied"
    entry = pools.entry(destination, "upd")
    assert entry is not None
    assert entry["name"] == "Test upd"
    assert entry["downloaded"] is True
    # A registered entry waiting for its files (same name, not downloaded) is filled in.
    register(pools, DESTINATIONS[1], "upd", "--not-downloaded")
    code, _document, err = pools.copy_json("upd", "--from", SOURCE, "--to", DESTINATIONS[1])
    assert code == 0, err
    filled = pools.entry(DESTINATIONS[1], "upd")
    assert filled is not None
    assert filled["downloaded"] is True
    assert "record" in filled


def _write_gguf(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("Tiny GGUF")
    writer.add_context_length(2048)
    writer.add_tensor("token_embd.weight", np.zeros((64, 16), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_one_file_model_outside_the_root_lands_under_the_destination_root(pools: Pools) -> None:
    # An adopted GGUF: its entry's path is the file itself, absolute, outside the pool's root.
    outside = pools.hosts.pools[SOURCE].home / "lmstudio" / "tiny-q4.gguf"
    _write_gguf(outside)
    register(pools, SOURCE, "tiny-q4", "--format", "gguf", "--path", str(outside))
    done = pools.llorch("models", "copy", "tiny-q4", "--from", SOURCE, "--to", DESTINATIONS[0])
    assert done.returncode == 0, done.stderr
    entry = pools.entry(DESTINATIONS[0], "tiny-q4")
    assert entry is not None
    assert entry["path"] == ".test-models/tiny-q4/tiny-q4.gguf"
    assert done.stdout == (
        f"✅ Copied tiny-q4 from {SOURCE} to {DESTINATIONS[0]} ({entry['path']}): 1 file(s), "
        "4.3 kB sent\n"
    )
    assert f"{DESTINATIONS[0]}: tiny-q4.gguf" in done.stderr  # progress, one line per file
    assert [f["path"] for f in entry["record"]["files"]] == ["tiny-q4.gguf"]
    copied = pools.workdir(DESTINATIONS[0]) / entry["path"]
    assert copied.read_bytes() == outside.read_bytes()
    # Absolute --path on the destination: the entry says so.
    elsewhere = pools.hosts.pools[DESTINATIONS[1]].home / "models" / "tiny"
    done = pools.llorch(
        "models", "copy", "tiny-q4", "--from", SOURCE, "--to", DESTINATIONS[1], "--path",
        str(elsewhere), "-q",
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    entry = pools.entry(DESTINATIONS[1], "tiny-q4")
    assert entry is not None
    assert entry["path"] == f"{elsewhere}/tiny-q4.gguf"
    assert (elsewhere / "tiny-q4.gguf").read_bytes() == outside.read_bytes()


def test_ctrl_c_ends_every_ssh_and_leaves_only_the_staging_folder(pools: Pools) -> None:
    destination = DESTINATIONS[1]
    models = pools.workdir(destination) / ".test-models"
    partial = models / f".rbee-copy.{BIG_MODEL}" / "partial" / BIG_SHARD
    process = subprocess.Popen(
        [LLORCH, "models", "copy", BIG_MODEL, "--from", SOURCE, "--to", destination],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**pools.env, "RBEE_COPY_RATE": "20000000"},
    )
    try:
        _wait_for(
            lambda: partial.exists() and partial.stat().st_size >= 10_000_000, "the first 10 MB"
        )
        children = [pid for pid, _ in _children(process.pid)]
        assert len(children) == 2  # the ssh to the source and the one to the destination
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=CALL_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert out == b""
    for pid in children:  # killed and reaped: nothing of ours outlives llorch
        assert not Path(f"/proc/{pid}").exists()
    assert pools.entry(destination, BIG_MODEL) is None
    assert sorted(p.name for p in models.iterdir()) == [f".rbee-copy.{BIG_MODEL}"]
    # One line says where what arrived is kept, and that a rerun resumes.
    assert err.decode().splitlines()[-1] == (
        f"interrupted: copy of {BIG_MODEL} stopped; what arrived is kept in "
        f"{destination}:.test-models/.rbee-copy.{BIG_MODEL}: run the same command again to "
        "resume"
    )
    # The rerun resumes, and says how much in readable units (not "0.0 GB sent").
    _wait_for(lambda: _lock_free(partial.parent.parent / ".lock"), "the receiver to exit")
    again = pools.llorch("models", "copy", BIG_MODEL, "--from", SOURCE, "--to", destination)
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(
        rf"✅ Copied {BIG_MODEL} from {SOURCE} to {destination} \(\.test-models/{BIG_MODEL}\): "
        r"4 file\(s\), \d+\.\d MB sent, \d+\.\d MB resumed, 1 file\(s\) already there\n",
        again.stdout,
    ), again.stdout


def test_a_receiver_done_before_the_sender_has_exited_is_not_a_lost_connection(
    pools: Pools,
) -> None:
    # The receiver ends (rbee-copy-done, exit 0) as soon as it has every byte it expects; the
    # source's ssh may close its stdout later. That late end-of-file is not a broken pipe.
    lingering = (
        '\n[pools.lingering]\nssh = "' + SOURCE + '"\n'
        'hive = "sh -c \'rbee-hive \\"$@\\"; code=$?; sleep 1; exit $code\' rbee-hive"\n'
    )
    with pools.pools_file.open("a") as file:
        file.write(lingering)
    add_model(pools, "linger")
    code, document, err = pools.copy_json("linger", "--from", "lingering", "--to", DESTINATIONS[0])
    assert code == 0, err
    assert document["to"][DESTINATIONS[0]]["status"] == "copied"
    entry = pools.entry(DESTINATIONS[0], "linger")
    assert entry is not None
    assert entry["downloaded"] is True
