"""Every way reaching a pool fails: one line naming the pool, exit 1, and never a hang."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ssh

MAC = "mac.home.arpa"
EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "examples" / "test-models.toml"


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == b""
    assert result.returncode == 1
    return lines[0]


def test_connection_refused(keeper: Any) -> None:
    line = one_error_line(keeper.run("pool", "models", "catalog", "--host", "down.home.arpa"))
    assert line.startswith("error: down.home.arpa: ssh down.home.arpa: cannot connect: ")
    assert "Connection refused" in line
    assert "is the pool up and its sshd running" in line


def test_key_not_accepted(keeper: Any) -> None:
    line = one_error_line(keeper.run("pool", "models", "catalog", "--host", "stranger.home.arpa"))
    assert line.startswith("error: stranger.home.arpa: ssh stranger.home.arpa: the pool refused")
    assert "Permission denied (publickey)" in line
    assert "authorized_keys" in line


def test_a_listener_that_never_speaks_is_bounded_by_the_timeout(keeper: Any) -> None:
    started = time.monotonic()
    result = keeper.run("pool", "models", "catalog", "--host", "silent.home.arpa", "--timeout", "1")
    elapsed = time.monotonic() - started
    line = one_error_line(result)
    assert line.startswith("error: silent.home.arpa: ")
    assert "no answer" in line
    assert elapsed < 8


def test_a_command_that_hangs_on_the_pool_is_killed_at_the_timeout(
    keeper: Any, tmp_path: Path
) -> None:
    keeper.pools_file.write_text(
        f'[pools.hung]\nssh = "{MAC}"\nhive = "sh -c \'sleep 4\'"\n', encoding="utf-8"
    )
    started = time.monotonic()
    result = keeper.run("pool", "models", "catalog", "--host", "hung", "--timeout", "1")
    elapsed = time.monotonic() - started
    line = one_error_line(result)
    assert line.startswith(f"error: hung: no answer from ssh {MAC} (pool hung) within 1s")
    assert "--timeout" in line
    assert elapsed < 4


def test_a_workdir_that_does_not_exist(keeper: Any) -> None:
    line = one_error_line(keeper.run("pool", "models", "catalog", "--host", "noworkdir.home.arpa"))
    # Not a configured pool yet: the hint says which table to add, and where.
    assert line == (
        "error: noworkdir.home.arpa: workdir ~/Projects/llama-orch is not usable on the pool "
        '(No such file or directory); create it there, or set workdir = "..." for this pool '
        f'(add a [pools."noworkdir.home.arpa"] table to {keeper.pools_file})'
    )


def test_rbee_hive_not_installed_suggests_the_hive_setting(keeper: Any) -> None:
    line = one_error_line(keeper.run("pool", "models", "catalog", "--host", "nohive.home.arpa"))
    assert line.startswith(
        "error: nohive.home.arpa: rbee-hive is not installed on the pool ('rbee-hive' not found"
    )
    assert "rbee-hive: command not found" in line
    assert line.endswith(
        'set hive = "/path/to/rbee-hive" for this pool '
        f'(add a [pools."nohive.home.arpa"] table to {keeper.pools_file})'
    )
    keeper.pools_file.write_text('[pools.configured]\nssh = "nohive.home.arpa"\n')
    line = one_error_line(keeper.run("pool", "models", "catalog", "--host", "configured"))
    assert line.endswith(f'set hive = "/path/to/rbee-hive" for this pool in {keeper.pools_file}')


def test_the_hive_setting_finds_rbee_hive_outside_path(keeper: Any) -> None:
    import sys

    bin_dir = Path(sys.executable).parent
    keeper.pools_file.write_text(
        '[pools."nohive.home.arpa"]\n'
        f'hive = "{bin_dir}/python -m rbee.hive.cli"\n'
        '[pools.tilde]\nssh = "nohive.home.arpa"\nworkdir = "~"\nhive = "~/bin/rbee-hive"\n',
        encoding="utf-8",
    )
    home = keeper.hosts.pools["nohive.home.arpa"].home
    (home / "bin").mkdir(exist_ok=True)
    link = home / "bin" / "rbee-hive"
    if not link.exists():
        link.symlink_to(bin_dir / "rbee-hive")
    by_module = keeper.run("pool", "models", "catalog", "-q", "--host", "nohive.home.arpa")
    assert (by_module.returncode, by_module.stdout) == (0, b"")
    by_tilde = keeper.run("pool", "check", "--host", "tilde", "--json")
    report = json.loads(by_tilde.stdout)["tilde"]
    assert report["ok"] is True, report
    assert report["workdir"] == str(home)


def test_a_hive_path_with_spaces_works_quoted_and_unquoted_says_how(keeper: Any) -> None:
    import sys

    home = keeper.hosts.pools["nohive.home.arpa"].home
    venv = home / "rbee venv" / "bin"
    venv.mkdir(parents=True, exist_ok=True)
    if not (venv / "rbee-hive").exists():
        (venv / "rbee-hive").symlink_to(Path(sys.executable).parent / "rbee-hive")
    workdir = home / "My Models" / "it's here"
    workdir.mkdir(parents=True, exist_ok=True)
    keeper.pools_file.write_text(
        '[pools.quoted]\nssh = "nohive.home.arpa"\n'
        'workdir = "~/My Models/it\'s here"\n'
        f"hive = \"'{venv}/rbee-hive'\"\n"
        '[pools.unquoted]\nssh = "nohive.home.arpa"\n'
        f'hive = "{venv}/rbee-hive"\n',
        encoding="utf-8",
    )
    quoted = keeper.run("pool", "check", "--host", "quoted", "--json")
    report = json.loads(quoted.stdout)["quoted"]
    assert report["ok"] is True, report
    assert report["workdir"] == str(workdir)
    line = one_error_line(keeper.run("pool", "models", "catalog", "--host", "unquoted"))
    assert line.startswith("error: unquoted: rbee-hive is not installed on the pool")
    assert line.endswith(f"quote a path that contains spaces, e.g. hive = \"'{venv}/rbee-hive'\"")


def test_a_remote_rbee_hive_killed_by_a_signal_is_not_a_connection_failure(
    keeper: Any,
) -> None:
    keeper.pools_file.write_text(
        f'[pools.killed]\nssh = "{MAC}"\nhive = "sh -c \'kill -9 $$\'"\n'
        f'[pools.shell]\nssh = "{MAC}"\nhive = "sh -c \'kill -9 $PPID\'"\n',
        encoding="utf-8",
    )
    killed = one_error_line(keeper.run("pool", "models", "catalog", "--host", "killed"))
    assert killed == "error: killed: rbee-hive was killed by SIGKILL on the pool"
    # When the pool's shell itself dies, ssh's 255 is all there is.
    shell = one_error_line(keeper.run("pool", "models", "catalog", "--host", "shell"))
    assert shell.startswith(f"error: shell: ssh {MAC} (pool shell) failed with no message")


def test_an_error_of_rbee_hive_on_the_pool_is_relayed_with_its_exit_code(keeper: Any) -> None:
    keeper.catalog_path(MAC).parent.mkdir(parents=True)
    keeper.catalog_path(MAC).write_text("{ not json")
    result = keeper.run("pool", "models", "catalog", "--host", MAC)
    local = keeper.hive_locally(MAC, "models", "catalog")
    assert (result.returncode, result.stdout, result.stderr) == (1, b"", local.stderr)
    assert result.stderr.startswith(b"error: .test-models/catalog.json:1:3: not a valid catalog")
    several = keeper.run("pool", "models", "catalog", "--all")
    assert several.returncode == 1
    no_catalog = keeper.hive_locally("workstation.home.arpa", "models", "catalog")
    assert no_catalog.returncode == 0
    assert several.stderr.decode().splitlines() == [
        "error: mac.home.arpa: " + local.stderr.decode().removeprefix("error: ").rstrip("\n"),
        *(f"workstation.home.arpa: {line}" for line in no_catalog.stderr.decode().splitlines()),
    ]


def test_check_names_a_pool_whose_shell_start_up_prints(keeper: Any) -> None:
    # What such a shell prints lands in front of every rbee-hive output on that pool; check
    # must say so, not mistake the greeting for the workdir.
    result = keeper.run("pool", "check", "--host", "chatty.home.arpa", "--host", MAC, "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["chatty.home.arpa"] == {
        "ok": False,
        "ssh": "chatty.home.arpa",
        "error": "the pool's shell prints 'Welcome to chatty' when it starts, before any "
        "command's output; make its start-up files (~/.bashrc) print only in interactive shells",
        "kind": "shell",
        "exit_code": 1,
    }
    assert document[MAC]["ok"] is True


def test_check_names_the_catalog_an_env_prefix_in_hive_points_to(
    keeper: Any, tmp_path: Path
) -> None:
    catalog = tmp_path / "shared models" / "catalog.json"
    keeper.pools_file.write_text(
        f'[pools.envd]\nssh = "{MAC}"\nhive = "env \'RBEE_CATALOG={catalog}\' rbee-hive"\n',
        encoding="utf-8",
    )
    before = json.loads(keeper.run("pool", "check", "--host", "envd", "--json").stdout)["envd"]
    assert (before["catalog"], before["catalog_exists"]) == (str(catalog), False)
    # A catalog set by RBEE_CATALOG in a folder that does not exist: an error naming it.
    refused = keeper.run(
        "pool", "models", "register", "--host", "envd", "--from", str(EXAMPLES_FILE)
    )
    assert refused.returncode == 1
    assert f"the catalog's folder {catalog.parent} does not exist".encode() in refused.stderr
    assert not catalog.parent.exists()
    catalog.parent.mkdir()
    registered = keeper.run(
        "pool", "models", "register", "--host", "envd", "--from", str(EXAMPLES_FILE)
    )
    assert registered.returncode == 0, registered.stderr
    assert catalog.is_file()
    after = json.loads(keeper.run("pool", "check", "--host", "envd", "--json").stdout)["envd"]
    assert (after["catalog"], after["catalog_exists"]) == (str(catalog), True)


def test_check_fails_a_hive_setting_that_is_not_rbee_hive(keeper: Any) -> None:
    keeper.pools_file.write_text(
        f'[pools.python]\nssh = "{MAC}"\nhive = "python3"\n'
        f'[pools.silent]\nssh = "{MAC}"\nhive = "true"\n',
        encoding="utf-8",
    )
    result = keeper.run("pool", "check", "--all")
    assert result.returncode == 1
    python, silent = result.stdout.decode().splitlines()
    assert python.startswith("python  FAILED  'python3' is not rbee-hive: `--version` printed 'Py")
    assert python.endswith(f'set hive = "/path/to/rbee-hive" for this pool in {keeper.pools_file}')
    assert silent.startswith("silent  FAILED  'true' is not rbee-hive: `--version` printed nothing")


def test_check_never_prints_the_pools_escape_sequences(keeper: Any) -> None:
    # A pool's error output (here: an OSC sequence that retitles the terminal) is shown escaped.
    keeper.pools_file.write_text(
        f'[pools.odd]\nssh = "{MAC}"\n'
        'hive = "sh -c \'printf \\"\\\\033]0;owned\\\\007\\" >&2; exit 3\'"\n',
        encoding="utf-8",
    )
    result = keeper.run("pool", "check", "--host", "odd")
    assert result.returncode == 1
    assert b"\x1b" not in result.stdout
    assert "\\x1b]0;owned\\x07" in result.stdout.decode()


def test_check_reports_each_pool_on_one_line(keeper: Any) -> None:
    keeper.pools_file.write_text(
        keeper.pools_file.read_text()
        + '[pools."down.home.arpa"]\n[pools."nohive.home.arpa"]\n[pools."noworkdir.home.arpa"]\n'
        + '[pools."stranger.home.arpa"]\n[pools."silent.home.arpa"]\n',
        encoding="utf-8",
    )
    result = keeper.run("pool", "check", "--all", "--timeout", "2")
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["mac.home.arpa", "ok"],
        ["workstation.home.arpa", "ok"],
        ["down.home.arpa", "FAILED"],
        ["nohive.home.arpa", "FAILED"],
        ["noworkdir.home.arpa", "FAILED"],
        ["stranger.home.arpa", "FAILED"],
        ["silent.home.arpa", "FAILED"],
    ]
    from rbee import __version__

    workdir = keeper.workdir(MAC)
    assert lines[0].split() == [
        MAC,
        "ok",
        "rbee-hive",
        __version__,
        "workdir",
        str(workdir),
        "catalog",
        f"{workdir}/.test-models/catalog.json",
        "(not",
        "created",
        "yet)",
    ]
    document = json.loads(keeper.run("pool", "check", "--all", "--json", "--timeout", "2").stdout)
    assert [document[name]["kind"] for name in list(document)[2:]] == [
        "connect",
        "not-installed",
        "workdir",
        "auth",
        "timeout",
    ]


def _start_control_masters(keeper: Any) -> None:
    """The suite's ssh config shares one connection per host (ControlMaster). The first ssh to
    a host forks that master, which keeps the ssh's command line for a moment before renaming
    itself `ssh: ... [mux]`, and rightly outlives llorch: start it beforehand, so that every
    ssh llorch runs here is its own."""
    for host in (MAC, "workstation.home.arpa"):
        subprocess.run(
            [*keeper.hosts.ssh_argv(), host, "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=True,
        )


def _describe(pids: list[int]) -> str:
    lines = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        lines.append(f"{pid}: state {fields.get('State')}, parent {fields.get('PPid')}")
    return "; ".join(lines)


def _ssh_clients_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0] == b"ssh" and any(marker.encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("selection", "running"),
    [
        (["--all"], 2),
        # One pool, or one at a time: the call runs on the main thread, where Ctrl-C lands.
        (["--host", "a"], 1),
        (["--all", "--parallel", "1"], 1),
    ],
    ids=["several-pools", "one-pool", "parallel-1"],
)
def test_ctrl_c_ends_every_ssh_and_exits_130(
    keeper: Any, selection: list[str], running: int
) -> None:
    marker = f"sleep 3.21{len(selection)}"  # one per case: a leftover ssh must not count
    process = _llorch_waiting_on_hung_pools(keeper, marker, selection, running)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=10)
    assert process.returncode == 130, err
    assert time.monotonic() - started < 1.5
    assert _ssh_clients_running(marker) == [], _describe(_ssh_clients_running(marker))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize(
    ("selection", "running"), [(["--all"], 2), (["--host", "a"], 1)], ids=["several", "one"]
)
def test_sigterm_and_sighup_end_every_ssh_then_llorch_dies_of_the_signal(
    keeper: Any, signum: signal.Signals, selection: list[str], running: int
) -> None:
    # ssh runs in sessions of its own: killed by anything but Ctrl-C, llorch must still end it,
    # or a hung pool keeps an ssh (and its command) alive forever, past any --timeout.
    marker = f"sleep 3.3{int(signum)}{len(selection)}"
    process = _llorch_waiting_on_hung_pools(keeper, marker, selection, running)
    process.send_signal(signum)
    _, err = process.communicate(timeout=10)
    assert (process.returncode, err) == (-signum, b"")
    assert _ssh_clients_running(marker) == [], _describe(_ssh_clients_running(marker))


def _llorch_waiting_on_hung_pools(
    keeper: Any, marker: str, selection: list[str], running: int
) -> subprocess.Popen[bytes]:
    """llorch reading the catalog of pools whose rbee-hive hangs (`marker` names the hang),
    returned once `running` of its ssh clients are up."""
    keeper.pools_file.write_text(
        f'[pools.a]\nssh = "{MAC}"\nhive = "sh -c \'{marker}\'"\n'
        f'[pools.b]\nssh = "workstation.home.arpa"\nhive = "sh -c \'{marker}\'"\n',
        encoding="utf-8",
    )
    _start_control_masters(keeper)
    process = subprocess.Popen(
        [keeper_llorch(), "pool", "models", "catalog", *selection],
        env=keeper.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while len(_ssh_clients_running(marker)) < running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_ssh_clients_running(marker)) == running
    return process


def keeper_llorch() -> str:
    import sys

    return str(Path(sys.executable).parent / "llorch")


def test_pools_are_reached_concurrently_and_printed_in_the_order_given(keeper: Any) -> None:
    # Each "rbee-hive" sleeps, then prints its pool's name; the first pool is the slowest.
    def pool(name: str, host: str, seconds: float) -> str:
        return f'[pools.{name}]\nssh = "{host}"\nhive = "sh -c \'sleep {seconds}; echo {name}\'"\n'

    keeper.pools_file.write_text(
        pool("a", MAC, 1.2)
        + pool("b", "workstation.home.arpa", 0.6)
        + pool("c", MAC, 0.6)
        + pool("d", "workstation.home.arpa", 0.6),
        encoding="utf-8",
    )
    started = time.monotonic()
    together = keeper.run("pool", "models", "catalog", "--all")
    elapsed_together = time.monotonic() - started
    assert together.returncode == 0, together.stderr
    assert together.stdout.decode() == (
        "==> a <==\na\n\n==> b <==\nb\n\n==> c <==\nc\n\n==> d <==\nd\n"
    )
    started = time.monotonic()
    two_at_a_time = keeper.run("pool", "models", "catalog", "--all", "--parallel", "2")
    elapsed_two = time.monotonic() - started
    assert two_at_a_time.stdout == together.stdout
    # One at a time would take 3.0 s of sleeping; all at once, the slowest pool's 1.2 s.
    assert elapsed_together < 2.9
    # Two slots: a (1.2 s) in one; b, c, d (0.6 s each) share the other, or queue behind a.
    assert elapsed_two >= 1.8
