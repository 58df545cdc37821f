"""Ctrl-C with several pools: what the pools that had answered returned, in order, then one line
naming the pools that were cut off; exit 130. Against real sshd pools, two of which hang."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import LLORCH

pytestmark = pytest.mark.ssh

MAC = "mac.home.arpa"
WS = "workstation.home.arpa"


def _children(pid: int) -> list[tuple[str, bytes]]:
    """The processes whose parent is `pid`, zombies included (not reaped yet): state, argv."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append((fields[0], argv))
    return found


def _interrupt_while_hung(
    keeper: Any,
    tmp_path: Path,
    pools: dict[str, str | None],
    command: list[str],
    answering: set[str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run `llorch COMMAND --all` over `pools` (name -> what its rbee-hive prints, or None for
    one that hangs); once the `answering` pools (default: all that do not hang) have answered
    and been reaped, press Ctrl-C."""
    done = tmp_path / "done"
    done.mkdir()
    hives = {
        name: HANG if text is None else f"sh -c 'echo {text}; touch {done}/{name}'"
        for name, text in pools.items()
    }
    keeper.pools_file.write_text(
        "".join(
            f'[pools.{name}]\nssh = "{MAC if number % 2 == 0 else WS}"\nhive = "{hive}"\n'
            for number, (name, hive) in enumerate(hives.items())
        ),
        encoding="utf-8",
    )
    if answering is None:
        answering = {name for name, text in pools.items() if text is not None}
    hung = list(pools.values()).count(None)
    # Without a ControlMaster, llorch's only children are its ssh clients: one per pool, each
    # reaped once llorch has its result.
    env = {**keeper.env, "RBEE_SSH_COMMAND": keeper.hosts.ssh_command_without_master()}
    process = subprocess.Popen(
        [LLORCH, *command, "--all"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            children = _children(process.pid)
            if (
                {path.name for path in done.iterdir()} == answering
                and 0 < len(children) <= hung
                and all(state != "Z" and b"sleep 30" in argv for state, argv in children)
            ):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"llorch never got to {hung} hung pools")
        # From reaping an ssh to recording its result is a few instructions, but nothing outside
        # llorch can see it: leave a loaded machine's scheduler ample time (not 0.2 s).
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


HANG = "sh -c 'sleep 30'"


def test_ctrl_c_prints_the_pools_that_answered_in_order_and_names_the_others(
    keeper: Any, tmp_path: Path
) -> None:
    pools = {"a": None, "b": "from-b", "c": None, "d": "from-d"}
    result = _interrupt_while_hung(keeper, tmp_path, pools, ["pool", "models", "catalog"])
    assert result.returncode == 130, result.stderr
    assert result.stdout.decode() == "==> b <==\nfrom-b\n\n==> d <==\nfrom-d\n"
    assert result.stderr.decode() == "interrupted: cut off before answering: a, c\n"


def test_ctrl_c_with_json_prints_the_document_of_the_pools_that_answered(
    keeper: Any, tmp_path: Path
) -> None:
    pools = {"a": "[1]", "b": None, "c": "[2]"}
    command = ["pool", "models", "catalog", "--json"]
    result = _interrupt_while_hung(keeper, tmp_path, pools, command)
    assert result.returncode == 130, result.stderr
    assert json.loads(result.stdout) == {
        "a": {"ok": True, "result": [1]},
        "c": {"ok": True, "result": [2]},
    }
    assert result.stderr.decode() == "interrupted: cut off before answering: b\n"


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
def test_ctrl_c_during_pool_check(keeper: Any, tmp_path: Path, json_mode: bool) -> None:
    pools = {"hung": None, "fine": "rbee-hive 1.0"}
    command = ["pool", "check", *(["--json"] if json_mode else [])]
    result = _interrupt_while_hung(keeper, tmp_path, pools, command)
    assert result.returncode == 130, result.stderr
    assert result.stderr.decode() == "interrupted: cut off before answering: hung\n"
    if json_mode:
        assert list(json.loads(result.stdout)) == ["fine"]
    else:
        assert [line.split()[:2] for line in result.stdout.decode().splitlines()] == [
            ["fine", "ok"]
        ]


def test_ctrl_c_one_pool_at_a_time_names_the_pools_not_reached_yet(
    keeper: Any, tmp_path: Path
) -> None:
    pools = {"a": "from-a", "b": None, "c": "from-c"}
    command = ["pool", "models", "catalog", "--parallel", "1"]
    result = _interrupt_while_hung(keeper, tmp_path, pools, command, answering={"a"})
    assert result.returncode == 130, result.stderr
    assert result.stdout.decode() == "==> a <==\nfrom-a\n"
    assert result.stderr.decode() == "interrupted: cut off before answering: b, c\n"


def test_ctrl_c_with_one_pool_names_it(keeper: Any, tmp_path: Path) -> None:
    result = _interrupt_while_hung(keeper, tmp_path, {"a": None}, ["pool", "models", "catalog"])
    assert (result.returncode, result.stdout) == (130, b"")
    assert result.stderr.decode() == "interrupted: cut off before answering: a\n"
