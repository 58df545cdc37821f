"""What more than one suite needs: the example catalog, hypothesis strategies, shell-completion
and help-reference checks.

Importable as `tests.shared` because pytest's `pythonpath` setting puts the repository root on
`sys.path` (pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# The example document of the seed's WU2.1 ("Catalog Format"), verbatim.
SEED_EXAMPLE = """{
  "version": "1.0",
  "pool_id": "mac.home.arpa",
  "updated_at": "2025-10-09T15:00:00Z",
  "models": [
    {
      "id": "tinyllama",
      "name": "TinyLlama 1.1B Chat",
      "path": ".test-models/tinyllama",
      "format": "safetensors",
      "size_gb": 2.2,
      "architecture": "llama",
      "downloaded": true,
      "backends": ["cpu", "metal", "cuda"],
      "metadata": {
        "repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "context_length": 2048,
        "vocab_size": 32000,
        "quantization": "Q4_K_M"
      }
    }
  ]
}
"""


def plain_text(max_size: int) -> st.SearchStrategy[str]:
    """Printable text: no control characters, line separators or surrogates."""
    return st.text(
        alphabet=st.characters(
            blacklist_categories=["Cc", "Cs"], blacklist_characters="\u2028\u2029"
        ),
        min_size=1,
        max_size=max_size,
    )


def json_values(max_leaves: int) -> st.SearchStrategy[Any]:
    """Any JSON value a catalog can hold, integers beyond 64 bits included."""
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=10)
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=5),
                children,
                max_size=3,
            )
        ),
        max_leaves=max_leaves,
    )


def completion_driver(shell: str, function: str) -> str:
    """A script that sources the completion script `$1` and prints what completion `function`
    offers for the words `$2...` (the last one being completed), in bash or in zsh.

    zsh runs bash completion functions through bashcompinit, under `emulate -L sh` with these
    options (as its _bash_complete does); its compgen leaves the prefix matching to zsh itself.
    """
    setup = (
        'autoload -U +X compinit && compinit -u -d "$TMPDIR/zcompdump"\n'
        'source "$1"; shift\n'
        "emulate -L sh\n"
        "setopt kshglob noshglob braceexpand nokshautoload\n"
        if shell == "zsh"
        else 'source "$1"; shift\n'
    )
    return (
        "\n"
        + setup
        + 'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n'
        + f"{function}\n"
        + "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )


def help_reference_problems(doc: Path, program: str, executable: str, regenerate: str) -> list[str]:
    """Where `doc`'s generated `--help` reference differs from what `executable` really prints.

    One entry when the documented commands are not the program's commands; else a unified diff
    per command whose recorded help differs. Empty when the reference is current.
    """
    import difflib
    import os
    import subprocess

    import rbee.hive.helpdoc as help_document

    recorded = help_document.sections_in(doc.read_text(encoding="utf-8"), program)
    commands = [" ".join([program, *path]) for path in help_document.command_paths(program)]
    if sorted(recorded) != sorted(commands):
        return [
            f"{doc.name} documents {sorted(recorded)} but {program} has {sorted(commands)}; "
            f"run {regenerate}"
        ]
    env = dict(os.environ, COLUMNS=help_document.HELP_COLUMNS)
    problems: list[str] = []
    for command in commands:
        real = subprocess.run(
            [executable, *command.split()[1:], "--help"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        if recorded[command] != real:
            diff = difflib.unified_diff(
                recorded[command].splitlines(keepends=True),
                real.splitlines(keepends=True),
                f"{doc.name}: {command} --help",
                f"real: {command} --help",
            )
            problems.append("".join(diff))
    return problems


def assert_completions(
    shell: str,
    cases: list[tuple[list[str], list[str]]],
    complete: Callable[[list[str]], list[str]],
) -> None:
    """Each case's expected words are offered for its command line (`complete` runs the shell).

    bash filters by the word being completed itself; zsh's compgen offers all and zsh filters
    later, so only bash must offer nothing else.
    """
    for words, expected in cases:
        offered = complete(words)
        prefix = words[-1]
        matching = [word for word in offered if word.startswith(prefix)]
        for word in expected:
            assert word in matching, (shell, words, offered)
        if shell == "bash":
            assert offered == matching
