"""`llorch pool models download` on two real sshd pools at once (bench/sshhosts.py), each
running the installed rbee-hive against the local Hub server; and the import-cost guarantee:
the commands that do not download never import huggingface_hub."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.sshhosts import SshHosts

from tests.download.conftest import (
    COMMIT,
    HIVE,
    LLORCH,
    big_safetensors,
    hub_environment,
    write_config,
)
from tests.hubserver import FakeHub, HubFile, sha256_of_file

POOLS = ("pool-a.home.arpa", "pool-b.home.arpa")
WAIT = 60.0


def hub_exports(hub: FakeHub, hf_home: Path) -> str:
    names = ("HF_ENDPOINT", "HF_HOME", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_DISABLE_XET")
    environment = hub_environment(hub.url, hf_home)
    return "".join(f"export {name}={shlex.quote(environment[name])}\n" for name in names)


@pytest.fixture
def two_pools(tmp_path: Path, hub: FakeHub) -> Iterator[SshHosts]:
    hosts = SshHosts(tmp_path / "ssh")
    try:
        for name in POOLS:
            hosts.add_pool(name, bashrc_extra=hub_exports(hub, tmp_path / "hf" / name))
        yield hosts
    finally:
        hosts.close()


def llorch_env(hosts: SshHosts) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RBEE_", "HF_"))}
    env["RBEE_SSH_COMMAND"] = hosts.ssh_command
    env["RBEE_POOLS"] = str(hosts.dir / "no-pools.toml")
    return env


def register_on(hosts: SshHosts, name: str) -> None:
    pool = hosts.pools[name]
    subprocess.run(
        [
            str(HIVE),
            "models",
            "register",
            "big",
            "--name",
            "Big",
            "--repo",
            "org/big",
            "--architecture",
            "llama",
        ],
        cwd=pool.workdir,
        env={**os.environ, "HOME": str(pool.home), "RBEE_POOL_ID": name},
        check=True,
        capture_output=True,
        timeout=WAIT,
    )


def entry_on(hosts: SshHosts, name: str) -> dict[str, object]:
    catalog = hosts.pools[name].workdir / ".test-models" / "catalog.json"
    document = json.loads(catalog.read_text())
    found: dict[str, object] = document["models"][0]
    return found


def hive_processes_in(workdir: Path) -> list[int]:
    """rbee-hive processes whose current directory is `workdir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) != workdir:
                continue
            if b"rbee-hive" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_llorch_downloads_on_two_pools_at_once(
    two_pools: SshHosts, hub: FakeHub, tmp_path: Path
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    big_safetensors(folder / "model.safetensors", 3_000_000)
    write_config(folder)
    hub.repo("org/big", COMMIT).add_folder(folder)
    big: HubFile = hub.repos["org/big"].files["model.safetensors"]
    for name in POOLS:
        register_on(two_pools, name)
    env = llorch_env(two_pools)
    command = [str(LLORCH), "pool", "models", "download", "big"]
    for name in POOLS:
        command += ["--host", name]

    # Both pools transfer at the same moment: the server holds each request at 1 MB until both
    # are there. Then Ctrl-C stops every pool, keeping their partial files.
    big.pause_after = 1_000_000
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: big.paused_count == 2, "both pools' transfers")
        # Sent is not yet written: wait until each pool's partial file holds the 1 MB.
        for name in POOLS:
            partials = two_pools.pools[name].workdir / ".test-models" / ".rbee-partial"
            wait_for(
                lambda p=partials: [f.stat().st_size for f in p.rglob("*.part")] == [1_000_000],
                f"the first 1 MB on {name}",
            )
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    for name in POOLS:
        workdir = two_pools.pools[name].workdir
        wait_for(lambda w=workdir: not hive_processes_in(w), f"rbee-hive on {name} to stop")
        partial = sorted((workdir / ".test-models" / ".rbee-partial").rglob("*.part"))
        assert [p.stat().st_size for p in partial] == [1_000_000]
        assert entry_on(two_pools, name)["downloaded"] is False
    big.released.set()

    # The rerun resumes on both pools; off a terminal, each pool's lines name it.
    hub.clear_log()
    result = subprocess.run(command, env=env, capture_output=True, timeout=WAIT * 2, check=False)
    assert result.returncode == 0, result
    out_text = result.stdout.decode()
    assert out_text.startswith(f"==> {POOLS[0]} <==\n")
    assert f"\n==> {POOLS[1]} <==\n" in out_text
    assert out_text.count("✅ Model big downloaded: 2 file(s)") == 2
    err_lines = result.stderr.decode().splitlines()
    for name in POOLS:
        assert any(
            line.startswith(f"{name}: ") and "model.safetensors" in line for line in err_lines
        )
    requests = hub.downloads("model.safetensors")
    assert len(requests) == 2
    assert all(r.headers.get("range") == "bytes=1000000-" for r in requests)
    assert sum(r.body_bytes for r in requests) == 2 * (big.size - 1_000_000)
    for name in POOLS:
        entry = entry_on(two_pools, name)
        assert entry["downloaded"] is True
        record = entry["record"]
        assert isinstance(record, dict)
        assert record["source"]["commit"] == COMMIT
        model = two_pools.pools[name].workdir / ".test-models" / "big" / "model.safetensors"
        assert sha256_of_file(model) == big.content_sha256()

    # --json: one object keyed by pool, each with rbee-hive's own document.
    as_json = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, timeout=WAIT, check=False
    )
    assert as_json.returncode == 0, as_json
    document = json.loads(as_json.stdout)
    assert list(document) == list(POOLS)
    for name in POOLS:
        assert document[name]["ok"] is True
        assert document[name]["result"]["models"][0]["status"] == "complete"


@pytest.mark.parametrize(
    ("argv", "needs_pools"),
    [
        (["rbee.hive.cli", "models", "catalog"], False),
        (["rbee.keeper.cli", "pool", "list"], True),
    ],
)
def test_catalog_and_pool_list_never_import_huggingface_hub(
    argv: list[str], needs_pools: bool, tmp_path: Path
) -> None:
    pools = tmp_path / "pools.toml"
    pools.write_text('[pools."mac.home.arpa"]\nssh = "mac.home.arpa"\n')
    module, *args = argv
    code = (
        "import sys\n"
        f"from {module} import main\n"
        f"status = main({args!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('huggingface_hub', 'httpx2', 'httpx', 'rbee'))\n"
        "print('LOADED', *loaded, file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    env = {**os.environ, "RBEE_POOLS": str(pools)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 0, result
    loaded = result.stderr.decode().split("LOADED", 1)[1].split()
    assert not [m for m in loaded if not m.startswith("rbee")], loaded
    assert "rbee.hub" not in loaded
    assert "rbee.workflows.download" not in loaded


def test_one_pool_error_on_a_terminal_leaves_no_progress_line(
    two_pools: SshHosts, hub: FakeHub, tmp_path: Path
) -> None:
    """The board's `POOL  connecting...` line goes before the error takes its place."""
    from tests.download.test_display import screen
    from tests.terminal import run_with_stderr_on_a_terminal

    folder = tmp_path / "src"
    folder.mkdir()
    write_config(folder)
    hub.repo("org/big", COMMIT).add_folder(folder)
    register_on(two_pools, POOLS[0])
    command = [str(LLORCH), "pool", "models", "download", "big", "--host", POOLS[0]]

    process, text = run_with_stderr_on_a_terminal(
        [*command, "--revision", "nope"], env=llorch_env(two_pools), timeout=WAIT
    )

    assert process.returncode == 1, text
    assert screen(text) == [
        "error: big: revision 'nope' not found in repo org/big (a branch, tag or commit)"
    ]
