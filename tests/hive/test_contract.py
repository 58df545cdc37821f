"""What llorch relies on: `cd WORKDIR && exec HIVE --color ... models ...`, run by a shell."""

from __future__ import annotations

import json
import shlex
import subprocess

from .conftest import EXAMPLES, HIVE, HiveRunner


def _through_shell(
    hive: HiveRunner, *args: str, stdin: bytes | None = None
) -> tuple[int, str, str]:
    line = f"cd {shlex.quote(str(hive.pool))} && exec {shlex.quote(str(HIVE))} " + shlex.join(args)
    completed = subprocess.run(
        ["sh", "-c", line], input=stdin, capture_output=True, check=False, timeout=60
    )
    return completed.returncode, completed.stdout.decode(), completed.stderr.decode()


def test_a_name_with_quotes_survives_the_shell(hive: HiveRunner) -> None:
    name = "O'Brien's \"quoted\" model; rm -rf $HOME `x`"
    code, out, err = _through_shell(
        hive, "--color", "never", "models", "register", "quoted", "--name", name, "--arch", "llama"
    )
    assert (code, out, err) == (0, "✅ Model quoted registered\n", "")
    shown = json.loads(_through_shell(hive, "models", "show", "quoted", "--json")[1])
    assert shown["name"] == name


def test_a_list_sent_on_stdin_prints_what_a_local_run_prints(hive: HiveRunner) -> None:
    local_pool = HiveRunner(hive.pool.parent / "local")
    local_pool.pool.mkdir()
    local = local_pool.run("--color", "never", "models", "register", "--from", str(EXAMPLES))
    code, out, err = _through_shell(
        hive,
        "--color",
        "never",
        "models",
        "register",
        "--from",
        "-",
        "--from-name",
        str(EXAMPLES),
        stdin=EXAMPLES.read_bytes(),
    )
    assert (code, out, err) == (local.code, local.out, local.err)
    assert (
        json.loads(hive.catalog.read_text())["models"]
        == json.loads(local_pool.catalog.read_text())["models"]
    )


def test_exit_codes_and_one_error_line_come_through(hive: HiveRunner) -> None:
    assert _through_shell(hive, "--color", "always", "models", "show", "nope")[0] == 1
    code, out, err = _through_shell(hive, "--color", "always", "models", "catalog", "--bogus")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("error: ")


def test_a_traceback_only_with_rbee_debug(hive: HiveRunner) -> None:
    hive.catalog.parent.mkdir()
    hive.catalog.write_text("{")
    quiet = hive.run("models", "catalog")
    assert quiet.code == 1
    assert "Traceback" not in quiet.err
    loud = hive.run("models", "catalog", env={"RBEE_DEBUG": "1"})
    assert loud.code == 1
    assert "Traceback" in loud.err
    assert "CatalogCorruptError" in loud.err
