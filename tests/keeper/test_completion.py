"""`llorch completion bash|zsh`: the generated scripts, run by real bash and zsh, complete
commands, options, choices, files, and the pool names of the pools file."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from rbee.keeper.cli import REMOTE_SUBCOMMANDS
from tests.shared import assert_completions, completion_driver

from .conftest import BIN, LLORCH

POOLS = ("mac.home.arpa", "workstation.home.arpa", "blep")

# Each case: the words typed so far (the last one is being completed) and what must be offered.
CASES = [
    (["llorch", ""], ["pool", "completion"]),
    (["llorch", "po"], ["pool"]),
    (["llorch", "pool", ""], ["list", "check", "models"]),
    (["llorch", "pool", "models", ""], list(REMOTE_SUBCOMMANDS)),
    (["llorch", "pool", "models", "sc"], ["scan"]),
    (["llorch", "--color", ""], ["auto", "always", "never"]),
    (["llorch", "completion", ""], ["bash", "zsh"]),
    (["llorch", "pool", "check", "--a"], ["--all"]),
    (["llorch", "pool", "list", "-"], ["--json", "--quiet", "--pools", "--color"]),
    (["llorch", "pool", "models", "catalog", "--backend", ""], ["cpu", "metal", "cuda"]),
    (["llorch", "pool", "models", "catalog", "--not"], ["--not-downloaded"]),
    (["llorch", "pool", "models", "catalog", "--host", ""], list(POOLS)),
    (["llorch", "pool", "models", "--host", "w"], ["workstation.home.arpa"]),
    (["llorch", "pool", "check", "--host", "mac.home.arpa", "--host", "b"], ["blep"]),
    (["llorch", "pool", "models", "register", "--from", "exa"], ["examples.toml"]),
    (["llorch", "--pools", "oth"], ["other.toml"]),
]

BASH_DRIVER = completion_driver("bash", "_llorch")
ZSH_DRIVER = completion_driver("zsh", "_llorch")


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A directory with a pools file (named by RBEE_POOLS), another one, and a --from list."""
    (tmp_path / "pools.toml").write_text("".join(f'[pools."{name}"]\n' for name in POOLS))
    (tmp_path / "other.toml").write_text('[pools.elsewhere]\nssh = "blep"\n')
    (tmp_path / "examples.toml").write_text("")
    return tmp_path


def _script(place: Path, shell: str) -> Path:
    result = subprocess.run(
        [LLORCH, "completion", shell], capture_output=True, text=True, timeout=60, check=True
    )
    path = place / f"completion.{shell}"
    path.write_text(result.stdout)
    return path


def _complete(place: Path, shell: str, script: Path, words: list[str]) -> list[str]:
    driver = BASH_DRIVER if shell == "bash" else ZSH_DRIVER
    command = [shell, "-c", driver, shell, str(script), *words]
    if shell == "zsh":
        command = ["zsh", "-f", "-c", driver, "zsh", str(script), *words]
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "TMPDIR": str(place),
        "HOME": str(place),
        "RBEE_POOLS": str(place / "pools.toml"),
    }
    completed = subprocess.run(
        command, cwd=place, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, (shlex.join(words), completed.stderr)
    return [line for line in completed.stdout.splitlines() if line]


SHELLS = ["bash", "zsh"]  # `make test` installs zsh when it is missing


@pytest.mark.parametrize("shell", SHELLS)
def test_completion(place: Path, shell: str) -> None:
    script = _script(place, shell)
    assert_completions(shell, CASES, lambda words: _complete(place, shell, script, words))


@pytest.mark.parametrize("shell", SHELLS)
def test_pool_names_come_from_the_pools_file_named_on_the_line(place: Path, shell: str) -> None:
    script = _script(place, shell)
    other = str(place / "other.toml")
    words = ["llorch", "--pools", other, "pool", "models", "catalog", "--host", ""]
    assert _complete(place, shell, script, words) == ["elsewhere"]
    # Given after the subcommand, too.
    words = ["llorch", "pool", "check", "--pools", other, "--host", ""]
    assert _complete(place, shell, script, words) == ["elsewhere"]


def test_a_command_taking_one_word_stops_after_it(place: Path) -> None:
    script = _script(place, "bash")
    assert _complete(place, "bash", script, ["llorch", "completion", "zsh", ""]) == []


def test_no_pools_file_offers_nothing_and_says_nothing(place: Path) -> None:
    script = _script(place, "bash")
    (place / "pools.toml").unlink()
    assert _complete(place, "bash", script, ["llorch", "pool", "check", "--host", ""]) == []


def test_the_scripts_know_every_remote_subcommand_and_hide_plumbing(place: Path) -> None:
    bash = _script(place, "bash").read_text()
    zsh = _script(place, "zsh").read_text()
    function = bash[bash.index("_llorch_spec() {") :]
    assert function in zsh  # the same function serves both shells
    for name in REMOTE_SUBCOMMANDS:
        assert f'"pool models {name}")' in bash
    assert "--from-name" not in bash  # plumbing, hidden from --help
    assert bash.startswith("# bash completion for llorch")
    assert bash.rstrip().endswith("complete -F _llorch llorch")


def test_pool_list_quiet_prints_the_names(place: Path) -> None:
    result = subprocess.run(
        [LLORCH, "--pools", str(place / "pools.toml"), "pool", "list", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "\n".join(POOLS) + "\n", "")
