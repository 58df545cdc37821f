"""`llorch pool models ...` against real sshd pools: the output is rbee-hive's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ssh

MAC = "mac.home.arpa"
WS = "workstation.home.arpa"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "test-models.toml"


def seed(keeper: Any, pool: str) -> None:
    result = keeper.hive_locally(pool, "models", "register", "--from", str(EXAMPLES), "-q")
    assert result.returncode == 0, result.stderr


def catalog_document(keeper: Any, pool: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(keeper.catalog_path(pool).read_text())
    return document


READ_COMMANDS = [
    ["catalog"],
    ["catalog", "--json"],
    ["catalog", "-q"],
    ["catalog", "--arch", "qwen2", "--backend", "cuda"],
    ["catalog", "--search", "MINI"],
    ["show", "phi3"],
    ["show", "phi3", "--json"],
    ["show", "nope"],
    ["show", "nope", "--json"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("color", ["never", "always"])
def test_one_host_prints_exactly_what_rbee_hive_prints_there(
    keeper: Any, command: list[str], color: str
) -> None:
    seed(keeper, MAC)
    remote = keeper.run("--color", color, "pool", "models", *command, "--host", MAC)
    local = keeper.hive_locally(MAC, "--color", color, "models", *command)
    assert (remote.stdout, remote.stderr, remote.returncode) == (
        local.stdout,
        local.stderr,
        local.returncode,
    )
    assert remote.stdout or remote.stderr


WRITE_COMMANDS = [
    ["register", "gemma", "--name", "Gemma 2B", "--architecture", "gemma", "--size-gb", "1.5"],
    ["register", "gemma", "--name", "Gemma", "--arch", "gemma", "--backend", "cuda", "--json"],
    ["register", "phi3", "--name", "Another", "--architecture", "phi3"],
    ["register", "gemma", "--name", "Gemma"],
    ["register", "gemma", "--name", "Gemma", "--architecture", "Not Valid"],
    ["register", "--from", str(EXAMPLES)],
    ["register", "--from", str(EXAMPLES), "--json"],
    ["unregister", "phi3", "mistral"],
    ["unregister", "phi3", "nope", "--missing-ok", "--json"],
    ["unregister", "nope"],
    ["update", "phi3", "--downloaded", "--size-gb", "7.6", "--quantization", "Q4_K_M"],
    ["update", "phi3", "--not-downloaded", "--json"],
    ["update", "tinyllama", "--backend", "cpu", "--backend", "metal", "--name=-dash first"],
]


def run_remotely_then_locally(keeper: Any, command: list[str]) -> Any:
    """Run `models COMMAND` through llorch, then (from the same catalog) with rbee-hive on the
    pool itself; assert the output, exit code and resulting catalog are the same."""
    before = keeper.catalog_path(MAC).read_bytes()
    remote = keeper.run("pool", "models", *command, "--host", MAC)
    after_remote = catalog_document(keeper, MAC)
    keeper.catalog_path(MAC).write_bytes(before)
    local = keeper.hive_locally(MAC, "models", *command)
    after_local = catalog_document(keeper, MAC)
    assert (remote.stdout, remote.stderr, remote.returncode) == (
        local.stdout,
        local.stderr,
        local.returncode,
    )
    for document in (after_remote, after_local):
        document.pop("updated_at")
    assert after_remote == after_local
    return remote


@pytest.mark.parametrize("command", WRITE_COMMANDS, ids=" ".join)
def test_changes_made_remotely_are_the_changes_rbee_hive_makes_locally(
    keeper: Any, command: list[str]
) -> None:
    seed(keeper, MAC)
    run_remotely_then_locally(keeper, command)


def test_options_rbee_hive_would_refuse_are_refused_here_without_contacting_the_pool(
    keeper: Any,
) -> None:
    keeper.env["RBEE_SSH_COMMAND"] = f"touch {keeper.pools_file.parent}/contacted"
    result = keeper.run("pool", "models", "catalog", "--format", "nonsense", "--host", MAC)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "error: llorch pool models catalog: argument --format: invalid choice: 'nonsense' "
        "(choose from 'safetensors', 'gguf') (see 'llorch pool models catalog --help')\n"
    )
    assert not (keeper.pools_file.parent / "contacted").exists()


def test_a_usage_error_found_on_the_pool_keeps_its_exit_code(keeper: Any) -> None:
    remote = keeper.run("pool", "models", "register", "gemma", "--host", MAC)
    local = keeper.hive_locally(MAC, "models", "register", "gemma")
    assert remote.returncode == local.returncode == 2
    assert remote.stderr == local.stderr
    assert remote.stderr.startswith(b"error: register needs --name, --architecture")


def test_the_wu24_one_liner_registers_the_test_models_on_every_pool(keeper: Any) -> None:
    result = keeper.run("pool", "models", "register", "--all", "--from", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    lines = result.stdout.decode().splitlines()
    assert lines[0] == f"==> {MAC} <=="
    assert f"==> {WS} <==" in lines
    assert lines.count("✅ Model tinyllama registered") == 2
    for pool in (MAC, WS):
        document = catalog_document(keeper, pool)
        assert document["pool_id"] == pool
        assert [m["id"] for m in document["models"]] == [
            "tinyllama",
            "qwen-0.5b",
            "phi3",
            "mistral",
        ]
    again = keeper.run("pool", "models", "register", "--all", "--from", str(EXAMPLES), "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout) == {
        pool: {
            "ok": True,
            "result": {
                "registered": [],
                "updated": [],
                "skipped": ["tinyllama", "qwen-0.5b", "phi3", "mistral"],
                "changed_fields": {},
            },
        }
        for pool in (MAC, WS)
    }


def test_the_test_models_that_ship_with_rbee_register_on_every_pool(keeper: Any) -> None:
    # No file here or there: the pools' own rbee has the list (a pipx install has no checkout).
    result = keeper.run("pool", "models", "register", "--all", "--test-models", "--json")
    assert result.returncode == 0, result.stderr
    for pool, answer in json.loads(result.stdout).items():
        assert answer["result"]["registered"] == ["tinyllama", "qwen-0.5b", "phi3", "mistral"]
        assert catalog_document(keeper, pool)["pool_id"] == pool
    renamed = EXAMPLES.read_text().replace('"Phi-3 Mini 4K Instruct"', '"Phi-3 Mini"')
    refused = keeper.run("pool", "models", "register", "--host", WS, "--from", "-",
                         input=renamed.encode())  # fmt: skip
    assert refused.returncode == 1
    assert b"(name)" in refused.stderr
    assert b"--update" in refused.stderr
    updated = keeper.run("pool", "models", "register", "--host", WS, "--from", "-", "--update",
                         "--json", input=renamed.encode())  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)["changed_fields"] == {"phi3": ["name"]}


def test_from_stdin_is_read_here_and_sent_to_the_pool(keeper: Any) -> None:
    listing = json.dumps([{"id": "tiny", "name": "Tiny 'quoted' $(x)", "architecture": "llama"}])
    result = keeper.run(
        "pool", "models", "register", "--from", "-", "--host", WS, input=listing.encode()
    )
    assert result.returncode == 0, result.stderr
    assert catalog_document(keeper, WS)["models"][0]["name"] == "Tiny 'quoted' $(x)"


def test_several_hosts_print_in_the_order_given_under_each_name(keeper: Any) -> None:
    seed(keeper, MAC)
    result = keeper.run("pool", "models", "catalog", "-q", "--host", WS, "--host", MAC)
    assert result.returncode == 0
    assert result.stdout.decode() == (
        f"==> {WS} <==\n\n==> {MAC} <==\ntinyllama\nqwen-0.5b\nphi3\nmistral\n"
    )
    hint = keeper.hive_locally(WS, "models", "catalog", "-q").stderr.decode()
    assert hint  # rbee-hive says there is no catalog yet, on stderr
    assert result.stderr.decode() == "".join(f"{WS}: {line}\n" for line in hint.splitlines())


def test_hosts_given_on_the_group_and_the_subcommand_add_up(keeper: Any) -> None:
    result = keeper.run("pool", "models", "--host", MAC, "catalog", "--json", "--host", WS)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert list(document) == [MAC, WS]
    assert all(entry["ok"] and entry["result"]["models"] == [] for entry in document.values())


def test_one_host_down_others_still_answer_and_the_exit_code_is_1(keeper: Any) -> None:
    seed(keeper, MAC)
    seed(keeper, WS)
    result = keeper.run(
        "pool", "models", "catalog", "-q", "--host", MAC, "--host", "down.home.arpa", "--host", WS
    )
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out == (
        f"==> {MAC} <==\ntinyllama\nqwen-0.5b\nphi3\nmistral\n\n"
        "==> down.home.arpa <==\n\n"
        f"==> {WS} <==\ntinyllama\nqwen-0.5b\nphi3\nmistral\n"
    )
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("error: down.home.arpa: ssh down.home.arpa: cannot connect:")
    assert "Connection refused" in errors[0]


def test_json_over_several_hosts_is_one_object_keyed_by_pool(keeper: Any) -> None:
    seed(keeper, WS)
    result = keeper.run(
        "pool",
        "models",
        "show",
        "phi3",
        "--json",
        "--host",
        MAC,
        "--host",
        WS,
        "--host",
        "down.home.arpa",
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert list(document) == [MAC, WS, "down.home.arpa"]
    assert document[MAC] == {
        "ok": False,
        "error": "no catalog at .test-models/catalog.json",
        "exit_code": 1,
        "kind": "hive",
    }
    assert document[WS]["ok"] is True
    assert document[WS]["result"] == json.loads(
        keeper.hive_locally(WS, "models", "show", "phi3", "--json").stdout
    )
    assert document["down.home.arpa"]["ok"] is False
    assert document["down.home.arpa"]["kind"] == "connect"
    assert document["down.home.arpa"]["exit_code"] == 1
    assert (
        result.stderr.decode().splitlines()[0]
        == f"error: {MAC}: no catalog at .test-models/catalog.json"
    )


def test_colour_is_passed_on_only_when_our_stdout_takes_it(keeper: Any) -> None:
    seed(keeper, MAC)
    keeper.env["FORCE_COLOR"] = "1"
    forced = keeper.run("pool", "models", "catalog", "--host", MAC)
    assert b"\x1b[" in forced.stdout
    keeper.env.pop("FORCE_COLOR")
    plain = keeper.run("pool", "models", "catalog", "--host", MAC)
    assert b"\x1b[" not in plain.stdout
    several = keeper.run("--color", "always", "pool", "models", "catalog", "--all")
    assert f"\x1b[1m==> {MAC} <==\x1b[0m".encode() in several.stdout


def test_a_typed_color_auto_beats_the_environment_as_in_rbee_hive(keeper: Any) -> None:
    seed(keeper, MAC)
    keeper.env["FORCE_COLOR"] = "1"
    typed = keeper.run("--color", "auto", "pool", "models", "catalog", "--host", MAC)
    local = keeper.hive_locally(MAC, "--color", "auto", "models", "catalog")
    assert b"\x1b[" not in typed.stdout  # piped: a typed `auto` asks only the terminal
    assert typed.stdout == local.stdout


def write_safetensors_model(directory: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    save_file(
        {"model.embed_tokens.weight": np.zeros((8, 4), dtype=np.float16)},
        str(directory / "model.safetensors"),
        metadata={"format": "pt"},
    )


@pytest.mark.parametrize(
    "command",
    [
        ["inspect", ".test-models/tiny"],
        ["inspect", ".test-models/tiny", "--json"],
        ["inspect", ".test-models/nothing-here"],
        ["scan", "--dry-run"],
        ["scan", "tiny", "--json"],
        ["scan", "nope"],
    ],
    ids=" ".join,
)
def test_inspect_and_scan_on_a_pool_match_rbee_hive_there(keeper: Any, command: list[str]) -> None:
    seed(keeper, MAC)
    registered = keeper.hive_locally(
        MAC, "models", "register", "tiny", "--name", "Tiny", "--architecture", "llama", "-q"
    )
    assert registered.returncode == 0, registered.stderr
    write_safetensors_model(keeper.workdir(MAC) / ".test-models" / "tiny")
    remote = run_remotely_then_locally(keeper, command)
    assert remote.stdout or remote.stderr


def test_on_a_terminal_the_pool_output_is_coloured(keeper: Any) -> None:
    import os
    import pty
    import subprocess

    seed(keeper, MAC)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [keeper.llorch, "pool", "models", "catalog", "--host", MAC],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
            env=keeper.env,
        )
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    shown = b"".join(chunks).replace(b"\r\n", b"\n")
    coloured = keeper.hive_locally(MAC, "--color", "always", "models", "catalog").stdout
    assert b"\x1b[" in coloured
    assert shown == coloured


def test_from_reaches_a_pool_that_takes_its_time_to_read_it(keeper: Any) -> None:
    # `hive` as a multi-word command: sh waits, then runs rbee-hive with our arguments.
    keeper.pools_file.write_text(
        f'[pools.slow]\nssh = "{WS}"\n'
        'hive = "sh -c \'sleep 0.7; exec \\"$0\\" \\"$@\\"\' rbee-hive"\n',
        encoding="utf-8",
    )
    result = keeper.run("pool", "models", "register", "--from", str(EXAMPLES), "--host", "slow")
    assert result.returncode == 0, result.stderr
    assert [m["id"] for m in catalog_document(keeper, WS)["models"]] == [
        "tinyllama",
        "qwen-0.5b",
        "phi3",
        "mistral",
    ]


@pytest.mark.parametrize("suffix", [".json", ".list"])
def test_a_from_file_is_named_on_the_pool_as_it_is_here(
    keeper: Any, tmp_path: Path, suffix: str
) -> None:
    listing = tmp_path / f"more-models{suffix}"
    listing.write_text(
        json.dumps(
            [
                {"id": "gemma", "name": "Gemma 2B", "architecture": "gemma"},
                {"id": "phi3", "name": "Phi-3 Mini 4K Instruct", "architecture": "phi3"},
            ]
        )
    )
    seed(keeper, MAC)
    before = keeper.catalog_path(MAC).read_bytes()
    remote = keeper.run("pool", "models", "register", "--from", str(listing), "--host", MAC)
    keeper.catalog_path(MAC).write_bytes(before)
    local = keeper.hive_locally(MAC, "models", "register", "--from", str(listing))
    assert (remote.stdout, remote.stderr, remote.returncode) == (
        local.stdout,
        local.stderr,
        local.returncode,
    )
    assert str(listing).encode() in remote.stdout + remote.stderr


def test_from_name_belongs_to_stdin(keeper: Any) -> None:
    result = keeper.run(
        "pool", "models", "register", "--from", str(EXAMPLES), "--from-name", "x", "--host", MAC
    )
    assert (result.returncode, result.stderr) == (
        2,
        b"error: --from-name goes with --from - (stdin) only\n",
    )
    named = keeper.run(
        "pool",
        "models",
        "register",
        "--from",
        "-",
        "--from-name",
        "wu24.toml",
        "--host",
        MAC,
        input=EXAMPLES.read_bytes(),
    )
    assert named.returncode == 0, named.stderr
    assert named.stdout.decode().endswith("(from wu24.toml)\n")
