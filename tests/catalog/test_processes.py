"""Several processes at once, and processes killed mid-save: nothing is ever lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from rbee.catalog import ModelCatalog, ModelEntry, load_catalog

# -- concurrency: 8 writers x 25 models through edit_catalog -----------------------------------

WRITERS = 8
MODELS_PER_WRITER = 25

ADD_MODELS = """
import sys, time
from pathlib import Path
from rbee.catalog import ModelEntry, edit_catalog
path, writer, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
while not go.exists():  # start all writers at the same moment
    time.sleep(0.002)
for n in range(int(sys.argv[4])):
    with edit_catalog(path, create_pool_id="race.test", lock_timeout=120) as catalog:
        name = f"writer {writer} model {n}"
        catalog.add_model(ModelEntry(id=f"w{writer}-m{n}", name=name, architecture="llama"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("round_number", [1, 2, 3])
def test_concurrent_writers_lose_nothing(tmp_path: Path, python: str, round_number: int) -> None:
    path = tmp_path / "catalog.json"
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [python, "-c", ADD_MODELS, str(path), str(w), str(go), str(MODELS_PER_WRITER)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    time.sleep(0.3)  # let the interpreters start, so the writers really overlap
    go.touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=240)
        assert writer.returncode == 0, stderr
    catalog = load_catalog(path)
    expected = {f"w{w}-m{n}" for w in range(WRITERS) for n in range(MODELS_PER_WRITER)}
    assert {entry.id for entry in catalog.models} == expected
    assert len(catalog.models) == WRITERS * MODELS_PER_WRITER
    assert catalog.pool_id == "race.test"
    # The backup is the state just before the last add.
    assert len(load_catalog(path.with_name("catalog.json.bak")).models) == len(expected) - 1


# -- crash safety: SIGKILL at random moments during a save loop --------------------------------

KILLS = 60
BULK_MODELS = 300
# A long field makes the write itself (temp file written, fsynced, renamed) a wide window even
# where fsync costs nothing (tmpfs): half the kills aim at it (see `run_child_until_killed`).
BLOB = "x" * 1_000_000


def state_catalog(state: int) -> ModelCatalog:
    catalog = ModelCatalog.new("crash.test")
    for n in range(BULK_MODELS):
        catalog.add_model(
            ModelEntry(id=f"bulk-{n}", name=f"Bulk model {n}", architecture="llama", size_gb=n)
        )
    catalog.add_model(
        ModelEntry(
            id="counter",
            name="state 0",
            architecture="llama",
            metadata={"state": 0, "blob": BLOB},
        )
    )
    return catalog


def state_of(catalog: ModelCatalog) -> int:
    state = catalog.get_model("counter").metadata["state"]
    assert isinstance(state, int)
    return state


def without_stamp(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "updated_at"}


def save_forever(path: Path, report_fd: int) -> None:
    """The child: bump the counter and save, reporting each finished save, until killed."""
    catalog = load_catalog(path)
    state = state_of(catalog)
    counter = catalog.get_model("counter")
    while True:
        state += 1
        counter.name = f"state {state}"
        counter.metadata["state"] = state
        catalog.save(path)
        os.write(report_fd, f"{state}\n".encode())


def own_temp_files(directory: Path, pid: int) -> list[str]:
    """The temp files (of the catalog or of its backup) that process `pid` is writing."""
    prefix = f".catalog.json.{pid}."
    return [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".tmp")]


def run_child_until_killed(path: Path, delay: float, aim_at_write: bool) -> tuple[list[int], bool]:
    """Fork a saver; once its first save is done, SIGKILL it.

    `delay` seconds later (anywhere in a save); or, when aiming at the write, as soon as its
    next temp file appears (in the middle of writing), or after `delay` if none does. Waiting
    for the first save makes every round kill a child that is busy saving, however slowly the
    machine runs. Returns the states the child reported as saved, and whether it died with a
    temp file half written.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(read_fd)
            save_forever(path, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    reports = b""
    while b"\n" not in reports:
        chunk = os.read(read_fd, 65536)
        assert chunk, "the saver died before its first save"
        reports += chunk
    if aim_at_write:
        deadline = time.monotonic() + delay
        while not own_temp_files(path.parent, pid) and time.monotonic() < deadline:
            pass
    else:
        time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), "the saver stopped by itself"
    while chunk := os.read(read_fd, 65536):
        reports += chunk
    os.close(read_fd)
    return [int(line) for line in reports.split()], bool(own_temp_files(path.parent, pid))


@pytest.mark.slow
def test_sigkill_during_save_leaves_old_or_new_state(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    state_catalog(0).save(path)
    template = without_stamp(state_catalog(0).to_dict())
    # Random kills spread over two saves' time, as long as a save takes on this machine.
    timed = load_catalog(path)
    started = time.perf_counter()
    timed.get_model("counter").metadata["state"] = 0
    timed.get_model("counter").name = "state 0 "
    timed.save(path)
    save_seconds = time.perf_counter() - started
    timed.get_model("counter").name = "state 0"
    timed.save(path)
    chooser = random.Random(20251009)
    state = 0
    killed_mid_write = 0
    for round_number in range(KILLS):
        if round_number % 2:
            saved, mid_write = run_child_until_killed(path, 5 * save_seconds + 1, True)
        else:
            delay = chooser.uniform(0.0, 2 * save_seconds)
            saved, mid_write = run_child_until_killed(path, delay, False)
        last_saved = saved[-1] if saved else state
        assert saved == list(range(state + 1, last_saved + 1))
        killed_mid_write += mid_write
        catalog = load_catalog(path)
        new_state = state_of(catalog)
        # The save that was interrupted either happened completely or not at all.
        assert new_state in (last_saved, last_saved + 1)
        expected = dict(template)
        expected["models"] = [dict(m) for m in template["models"]]
        expected["models"][-1] = {
            **template["models"][-1],
            "name": f"state {new_state}",
            "metadata": {"state": new_state, "blob": BLOB},
        }
        assert without_stamp(catalog.to_dict()) == expected
        backup = path.with_name("catalog.json.bak")
        if backup.exists():
            assert state_of(load_catalog(backup)) in range(max(state - 1, 0), new_state + 1)
        state = new_state
    assert state >= KILLS  # every child finished at least one save before it was killed
    # Kills aimed at the write miss only if the rename beats this process's SIGKILL; and a save
    # that wrote in place (no temp file) fails here if not already above.
    assert killed_mid_write > 0, "no kill landed inside a write; the test proves nothing"


def test_threads_of_one_process_also_exclude_each_other(tmp_path: Path) -> None:
    import threading

    from rbee.catalog import edit_catalog

    path = tmp_path / "catalog.json"
    errors: list[BaseException] = []

    def add(worker: int) -> None:
        try:
            for n in range(10):
                with edit_catalog(path, create_pool_id="threads", lock_timeout=60) as catalog:
                    catalog.add_model(
                        ModelEntry(id=f"t{worker}-{n}", name="thread model", architecture="llama")
                    )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(load_catalog(path).models) == 40
