"""pools.toml, `llorch pool list`, and command-line checks that need no pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rbee.keeper.config import DEFAULT_HIVE, DEFAULT_WORKDIR, Pool, load_pools

LLORCH = str(Path(sys.executable).parent / "llorch")


def llorch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LLORCH, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_every_key_is_optional_and_defaults_follow_the_seed(tmp_path: Path) -> None:
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text(
        '[pools."mac.home.arpa"]\n\n'
        '[pools."workstation.home.arpa"]\nssh = "me@ws"\nworkdir = "/srv/llama-orch"\n'
        'hive = "~/.local/bin/rbee-hive"\n'
    )
    config = load_pools(pools_file)
    assert config.pools == {
        "mac.home.arpa": Pool("mac.home.arpa", "mac.home.arpa", DEFAULT_WORKDIR, DEFAULT_HIVE),
        "workstation.home.arpa": Pool(
            "workstation.home.arpa", "me@ws", "/srv/llama-orch", "~/.local/bin/rbee-hive"
        ),
    }
    assert DEFAULT_WORKDIR == "~/Projects/llama-orch"


def test_a_host_that_is_not_configured_is_an_ssh_destination_with_defaults(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "pools.toml"
    empty.write_text("")
    pool = load_pools(empty).pool("user@10.0.0.9")
    assert (pool.ssh, pool.workdir, pool.hive, pool.configured) == (
        "user@10.0.0.9",
        DEFAULT_WORKDIR,
        DEFAULT_HIVE,
        False,
    )


def test_a_missing_default_file_is_no_pools(tmp_path: Path) -> None:
    result = llorch("pool", "list", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 0
    assert result.stdout == ""
    assert f"{tmp_path}/rbee/pools.toml (the file does not exist)" in result.stderr


def test_the_default_file_is_in_the_user_config_dir(tmp_path: Path) -> None:
    (tmp_path / "rbee").mkdir()
    (tmp_path / "rbee" / "pools.toml").write_text('[pools."blep.home.arpa"]\n')
    result = llorch("pool", "list", "--json", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "blep.home.arpa": {"ssh": "blep.home.arpa", "workdir": DEFAULT_WORKDIR, "hive": "rbee-hive"}
    }


def test_pools_option_beats_the_environment(tmp_path: Path) -> None:
    chosen, ignored = tmp_path / "chosen.toml", tmp_path / "ignored.toml"
    chosen.write_text('[pools.a]\nssh = "a.example"\n')
    ignored.write_text('[pools.b]\nssh = "b.example"\n')
    by_env = llorch("pool", "list", "--json", env={"RBEE_POOLS": str(ignored)})
    assert list(json.loads(by_env.stdout)) == ["b"]
    by_option = llorch(
        "pool", "list", "--json", "--pools", str(chosen), env={"RBEE_POOLS": str(ignored)}
    )
    assert list(json.loads(by_option.stdout)) == ["a"]


def test_pool_list_shows_one_line_per_pool(tmp_path: Path) -> None:
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text(
        '[pools.mac]\nssh = "me@mac"\n[pools.ws]\nhive = "/opt/rbee/bin/rbee-hive"\n'
    )
    result = llorch("--pools", str(pools_file), "pool", "list")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "POOL  SSH     WORKDIR                HIVE",
        "mac   me@mac  ~/Projects/llama-orch  rbee-hive",
        "ws    ws      ~/Projects/llama-orch  /opt/rbee/bin/rbee-hive",
    ]


def test_pool_list_shows_control_characters_escaped(tmp_path: Path) -> None:
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text('[pools.odd]\nworkdir = "/srv/a\\nb\\u001b[2J"\n')
    result = llorch("--pools", str(pools_file), "pool", "list")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "POOL  SSH  WORKDIR             HIVE",
        "odd   odd  /srv/a\\x0ab\\x1b[2J  rbee-hive",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[pools.mac]\nssh = "mac"\nworkdir = \n', "pools.toml: line 3, column 11: not valid TOML"),
        ("[pools.mac]\nport = 22\n", "pools.toml:2: pool 'mac': unknown key 'port'"),
        ("[pools.mac]\nssh = 22\n", "pools.toml:2: pool 'mac': ssh: must be a non-empty string"),
        ('[pools.mac]\nssh = "-oProxyCommand=x"\n', "starts with '-'"),
        ('[pools.mac]\nhive = "rbee-hive \'unclosed"\n', "pools.toml:2: pool 'mac': hive:"),
        ('mac = "x"\n', "pools.toml:1: unknown top-level key 'mac'"),
        ("pools = 3\n", "'pools' must be a table"),
        ('[pools]\nmac = "x"\n', "pool 'mac': must be a table"),
        # The line is the offending pool's, not the first line that mentions the key or name.
        (
            '# mac is the ssh host for the workdir\n[pools.mac]\nssh = "mac"\nworkdir = "/a"\n\n'
            '[pools.ws]\nssh = ""\nworkdir = 3\n',
            "pools.toml:7: pool 'ws': ssh: must be a non-empty string",
        ),
        (
            '[pools.mac]\nworkdir = "/a"\n[pools."ws"]\nssh = "ws"\nworkdir = 3\n',
            "pools.toml:5: pool 'ws': workdir: must be a non-empty string",
        ),
        (
            '[pools.mac]\nworkdir = "/a"\n[pools.ws]\nworkdri = "/b"\n',
            "pools.toml:4: pool 'ws': unknown key 'workdri'",
        ),
        (
            '[pools.mac]\nhive = "rbee-hive"\n\n[pools.ws]\nhive = "x \'y"\n',
            "pools.toml:5: pool 'ws': hive:",
        ),
        ('# the -x pool\n[pools."-x"]\n', "pools.toml:2: pool '-x': ssh: refusing"),
        (
            '[pools."\\u001b[2Jmac"]\nssh = "mac"\n',
            "pools.toml:1: pool '\\x1b[2Jmac': a pool name must be non-blank and free of control",
        ),
        ('[pools." "]\nssh = "mac"\n', "pools.toml:1: pool ' ': a pool name must be non-blank"),
    ],
)
def test_a_malformed_pools_file_is_one_error_naming_the_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text(text)
    result = llorch("--pools", str(pools_file), "pool", "list")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {tmp_path}/")
    assert expected in lines[0]


def test_an_explicit_pools_file_must_exist(tmp_path: Path) -> None:
    result = llorch("--pools", str(tmp_path / "nope.toml"), "pool", "list")
    assert (result.returncode, result.stderr) == (
        1,
        f"error: {tmp_path}/nope.toml: no such pools file\n",
    )


def test_a_host_starting_with_a_dash_is_refused_before_ssh_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = llorch(
        "pool",
        "models",
        "catalog",
        "--host=-oProxyCommand=touch " + str(marker),
        env={"RBEE_POOLS": str(tmp_path / "none.toml")},
    )
    assert result.returncode == 2
    assert "refusing ssh destination '-oProxyCommand=touch" in result.stderr
    assert not marker.exists()


def test_models_needs_host_or_all(tmp_path: Path) -> None:
    result = llorch("pool", "models", "catalog", env={"RBEE_POOLS": str(tmp_path / "x.toml")})
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: name a pool with --host NAME, or use --all (pools: none configured)\n"
    )
    both = llorch("pool", "models", "--all", "catalog", "--host", "a")
    assert (both.returncode, both.stderr) == (2, "error: use --host or --all, not both\n")


def test_all_without_pools_says_where_it_looked(tmp_path: Path) -> None:
    result = llorch("pool", "check", "--all", env={"RBEE_POOLS": str(tmp_path / "x.toml")})
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: --all: no pools are configured in {tmp_path}/x.toml")


def test_an_unparsable_ssh_command_is_a_usage_error(tmp_path: Path) -> None:
    result = llorch(
        "pool",
        "models",
        "catalog",
        "--host",
        "mac",
        env={"RBEE_SSH_COMMAND": "ssh -F 'unclosed", "RBEE_POOLS": str(tmp_path / "x.toml")},
    )
    assert result.returncode == 2
    assert result.stderr == 'error: RBEE_SSH_COMMAND="ssh -F \'unclosed": No closing quotation\n'


def test_a_missing_ssh_client_is_one_error(tmp_path: Path) -> None:
    result = llorch(
        "pool",
        "models",
        "catalog",
        "--host",
        "mac",
        env={"RBEE_SSH_COMMAND": str(tmp_path / "no-ssh"), "RBEE_POOLS": str(tmp_path / "x")},
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: mac: cannot run '{tmp_path}/no-ssh': not found")


def test_a_local_from_file_is_validated_before_any_pool_is_contacted(tmp_path: Path) -> None:
    broken = tmp_path / "models.toml"
    broken.write_text('[[models]]\nid = "x"\nname = "X"\narchitecture = "Not Valid"\n')
    result = llorch(
        "pool",
        "models",
        "register",
        "--from",
        str(broken),
        "--host",
        "mac",
        # Any attempt to reach a pool would run this "ssh" and leave a marker.
        env={"RBEE_SSH_COMMAND": f"touch {tmp_path}/contacted", "RBEE_POOLS": str(tmp_path / "x")},
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {broken}: entry 1 ('x'): field 'architecture'")
    assert not (tmp_path / "contacted").exists()
