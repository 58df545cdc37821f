"""Shell completion: the generated scripts, run by real bash and zsh."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.shared import assert_completions, completion_driver

from .conftest import HIVE, HiveRunner

# Each case: the words typed so far (the last one is being completed) and what must be offered.
CASES = [
    (["rbee-hive", ""], ["models", "completion"]),
    (["rbee-hive", "models", ""], ["catalog", "register", "unregister", "show", "update"]),
    (["rbee-hive", "models", "re"], ["register"]),
    (["rbee-hive", "--color", ""], ["auto", "always", "never"]),
    (["rbee-hive", "models", "catalog", "--backend", ""], ["cpu", "metal", "cuda"]),
    (["rbee-hive", "models", "register", "x", "--format", ""], ["safetensors", "gguf"]),
    (["rbee-hive", "models", "catalog", "--not"], ["--not-downloaded"]),
    (["rbee-hive", "completion", ""], ["bash", "zsh"]),
    (["rbee-hive", "models", "show", ""], ["tinyllama", "qwen-0.5b", "phi3", "mistral"]),
    (["rbee-hive", "models", "unregister", "phi3", "m"], ["mistral"]),
    (["rbee-hive", "models", "unregister", "phi3", "-q", "t"], ["tinyllama"]),
    (["rbee-hive", "models", "scan", "q"], ["qwen-0.5b"]),
    (["rbee-hive", "models", "scan", "--dry-run", "phi3", "t"], ["tinyllama"]),
    (["rbee-hive", "models", "register", "--from", "exa"], ["examples.toml"]),
]

BASH_DRIVER = completion_driver("bash", "_rbee_hive")
ZSH_DRIVER = completion_driver("zsh", "_rbee_hive")


def _script(seeded: HiveRunner, shell: str) -> Path:
    result = seeded.run("completion", shell)
    assert result.code == 0
    path = seeded.pool / f"completion.{shell}"
    path.write_text(result.out)
    (seeded.pool / "examples.toml").write_text("")
    return path


def _complete(seeded: HiveRunner, shell: str, script: Path, words: list[str]) -> list[str]:
    driver = BASH_DRIVER if shell == "bash" else ZSH_DRIVER
    command = [shell, "-c", driver, shell, str(script), *words]
    if shell == "zsh":
        command = ["zsh", "-f", "-c", driver, "zsh", str(script), *words]
    env = {
        "PATH": f"{HIVE.parent}:/usr/bin:/bin",
        "TMPDIR": str(seeded.pool),
        "HOME": str(seeded.pool),
    }
    completed = subprocess.run(
        command, cwd=seeded.pool, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, (shlex.join(words), completed.stderr)
    return [line for line in completed.stdout.splitlines() if line]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion(seeded: HiveRunner, shell: str) -> None:
    script = _script(seeded, shell)
    assert_completions(shell, CASES, lambda words: _complete(seeded, shell, script, words))


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_command_taking_one_id_stops_after_it(seeded: HiveRunner, shell: str) -> None:
    script = _script(seeded, shell)
    assert _complete(seeded, shell, script, ["rbee-hive", "models", "show", "phi3", ""]) == []
    assert _complete(seeded, shell, script, ["rbee-hive", "completion", "zsh", ""]) == []
    many = _complete(seeded, shell, script, ["rbee-hive", "models", "unregister", "phi3", ""])
    assert "mistral" in many


def test_model_ids_come_from_the_catalog_named_on_the_line(seeded: HiveRunner) -> None:
    other = seeded.pool / "other.json"
    assert (
        seeded.run(
            "--catalog",
            str(other),
            "models",
            "register",
            "elsewhere",
            "--name",
            "E",
            "--arch",
            "llama",
        ).code
        == 0
    )
    script = _script(seeded, "bash")
    offered = _complete(
        seeded, "bash", script, ["rbee-hive", "--catalog", str(other), "models", "show", ""]
    )
    assert offered == ["elsewhere"]


def test_the_scripts_know_every_option_of_every_command(seeded: HiveRunner) -> None:
    from rbee.hive.arguments import models_subcommands

    script = _script(seeded, "bash").read_text()
    zsh = _script(seeded, "zsh").read_text()
    function = script[script.index("_rbee_hive_spec() {") :]
    assert function in zsh  # the same function serves both shells
    for subcommand in models_subcommands():
        assert f'"models {subcommand.name}")' in script
    for option in ("--from", "--missing-ok", "--clear-quantization", "--search"):
        assert option in script
    # Plumbing (hidden from --help) is not offered either.
    assert "--from-name" not in script
