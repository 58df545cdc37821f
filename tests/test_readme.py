"""The README is a test: its Usage examples run literally, in order (issue 8 §1).

Every `$ rbee-hive ...` and `$ llorch ...` line of the ```console blocks under `## Usage` runs
through `bash -c`, exactly as a user pastes it (quotes, `\\` continuations, `# comments`, pipes),
with the console scripts of this interpreter first on PATH:

- `rbee-hive` lines run in one fresh, empty pool root (the current directory, as the README says),
  into which only the checkout's `examples/` is copied; `RBEE_POOL_ID=mac.home.arpa`, as the
  README's table shows.
- `models download` lines (local and remote) fetch from a local server that speaks the Hub's
  protocol (`tests/hubserver.py`) serving a stand-in for Qwen/Qwen2.5-0.5B-Instruct, named by
  `HF_ENDPOINT` as the README says a mirror is; `HOME` is a fresh folder, so `adopt` finds no
  store of the machine's.
- `llorch` lines run from that same directory against real sshd pools on 127.0.0.1
  (`mac.home.arpa` and `workstation.home.arpa`, from `bench/sshhosts.py`, the suite's own fake
  pools), whose catalogs start empty; their pools file is `RBEE_POOLS`.

A step fails when it exits non-zero, or when the README shows output under it and stdout is
something else. Output is compared line by line (trailing spaces ignored); a line that is just
`...` stands for any number of lines, so the README can show the lines that matter (ids, counts,
the table's shape) and elide the rest. A command with no output under it is checked for its exit
code only. stderr is not compared (hints live there). A line of its own starting with `#` in a
console block is a comment, neither command nor output.

Adding cases:
- A new `$ rbee-hive ...` or `$ llorch ...` line in the README needs nothing here: it runs.
- A line that needs the world prepared (a fake Hugging Face Hub for `models download`, model
  files that the README says the user put in place) gets an entry in `PREPARATIONS`: a regular
  expression searched in the command line, and a function that receives the `Context` and
  returns extra environment variables for that line (e.g. `{"HF_ENDPOINT": hub.url}` from
  `tests/hubserver.py`); it may also write files, and register cleanups in `context.cleanups`.
  The first matching entry wins. Keep each preparation what the README's prose tells a user to
  do, so that the README stays true for a reader, not only for this test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BIN = Path(sys.executable).parent
PROGRAMS = ("rbee-hive", "llorch")
POOL_ID = "mac.home.arpa"
REMOTE_POOLS = ("mac.home.arpa", "workstation.home.arpa")
STEP_TIMEOUT = 120


# -- reading the README -------------------------------------------------------------------------


@dataclass
class Step:
    """One `$ ...` command of the README and the output it shows."""

    line: int
    """The README line the command starts on (1-based)."""
    command: str
    """The command as typed, continuation lines included (without the `$ `)."""
    expected: list[str] = field(default_factory=list)

    @property
    def program(self) -> str:
        return self.command.split(maxsplit=1)[0]

    def __str__(self) -> str:
        return f"README.md:{self.line}: $ {self.command}"


def section(text: str, heading: str) -> tuple[int, str]:
    """The text of the `## heading` section and the line number it starts on."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, "\n".join(lines[start:end])


def console_steps(text: str, first_line: int = 0) -> list[Step]:
    """Every `$ ` command in the ```console blocks of `text`, with the output shown under it.

    A line ending in `\\` continues on the next; a `$ ` line or the block's end ends the output.
    A line of its own starting with `#` is a comment, neither command nor output; a `# ...`
    after a command is the shell's comment (bash drops it).
    """
    steps: list[Step] = []
    inside = False
    continued = False
    for number, line in enumerate(text.splitlines(), start=first_line + 1):
        if line.startswith("```"):
            inside = line.strip() == "```console"
            continued = False
            continue
        if not inside:
            continue
        if continued:
            steps[-1].command += "\n" + line
        elif line.startswith("$ "):
            steps.append(Step(number, line[2:]))
        elif line.startswith("#"):
            continue  # a comment line of the README's, not output
        elif steps:
            steps[-1].expected.append(line.rstrip())
        continued = line.endswith("\\")
    return steps


def readme_steps() -> list[Step]:
    start, usage = section(README.read_text(encoding="utf-8"), "Usage")
    return console_steps(usage, start)


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` lines are `expected`, where a `...` line stands for any lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


# -- running it -------------------------------------------------------------------------------


@dataclass
class Context:
    """Where the README's commands run."""

    root: Path
    """The pool root and current directory (fresh, with only `examples/` copied in)."""
    env: dict[str, str]
    cleanups: list[Callable[[], None]] = field(default_factory=list)


def write_qwen_repo(folder: Path) -> None:
    """A stand-in for the Hub's Qwen/Qwen2.5-0.5B-Instruct: its real config.json values and file
    names, tokenizer files, and one small tensor written by `safetensors` (7.3 MB, not 988)."""
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "max_position_embeddings": 32768,
        "vocab_size": 151936,
        "torch_dtype": "bfloat16",
        "tie_word_embeddings": True,
        "rope_theta": 1000000.0,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "generation_config.json").write_text('{"do_sample": true}')
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "BPE"}}')
    (folder / "tokenizer_config.json").write_text('{"model_max_length": 131072}')
    (folder / "merges.txt").write_text("#version: 0.2\n")
    (folder / "vocab.json").write_text('{"a": 0}')
    (folder / "README.md").write_text("# Qwen2.5-0.5B-Instruct\n")
    weights = np.random.default_rng(0).standard_normal((4096, 896)).astype(np.float16)
    save_file({"model.embed_tokens.weight": weights}, str(folder / "model.safetensors"))


def hub_environment(hub_url: str, hf_home: Path) -> dict[str, str]:
    """What the README's prose asks of a pool without the Hub: a mirror in `HF_ENDPOINT`."""
    return {
        "HF_ENDPOINT": hub_url,
        "HF_HOME": str(hf_home),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
    }


PREPARATIONS: list[tuple[str, Callable[[Context], dict[str, str]]]] = []
"""(regular expression searched in the command, preparation): see the module's docstring."""


def prepare(step: Step, context: Context) -> dict[str, str]:
    for pattern, preparation in PREPARATIONS:
        if re.search(pattern, step.command):
            return preparation(context)
    return {}


def run_step(step: Step, context: Context) -> subprocess.CompletedProcess[str]:
    env = {**context.env, **prepare(step, context)}
    return subprocess.run(
        ["bash", "-c", step.command],
        cwd=context.root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local server speaking the Hub's protocol, serving the stand-in Qwen repo."""
    from tests.hubserver import FakeHub

    folder = tmp_path_factory.mktemp("readme-hub") / "Qwen2.5-0.5B-Instruct"
    write_qwen_repo(folder)
    with FakeHub() as hub:
        hub.repo("Qwen/Qwen2.5-0.5B-Instruct").add_folder(folder)
        yield hub.url


@pytest.fixture(scope="module")
def remote_pools(
    tmp_path_factory: pytest.TempPathFactory, hub_url: str
) -> Iterator[dict[str, str]]:
    """Two real sshd pools (each with the Hub mirror) and the environment llorch needs."""
    import shlex

    from bench.sshhosts import SshHosts

    directory = tmp_path_factory.mktemp("readme-pools")
    with SshHosts(directory / "hosts") as hosts:
        for name in REMOTE_POOLS:
            exports = hub_environment(hub_url, directory / "hf" / name)
            hosts.add_pool(
                name,
                bashrc_extra="".join(
                    f"export {key}={shlex.quote(value)}\n" for key, value in exports.items()
                ),
            )
        pools_file = directory / "pools.toml"
        pools_file.write_text("".join(f'[pools."{n}"]\nssh = "{n}"\n\n' for n in REMOTE_POOLS))
        yield {"RBEE_POOLS": str(pools_file), "RBEE_SSH_COMMAND": hosts.ssh_command}


@pytest.fixture
def context(tmp_path: Path, remote_pools: dict[str, str], hub_url: str) -> Iterator[Context]:
    root = tmp_path / "pool"
    root.mkdir()
    shutil.copytree(REPO / "examples", root / "examples")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RBEE_") and key not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")
    }
    env.update(remote_pools)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["RBEE_POOL_ID"] = POOL_ID
    env["HOME"] = str(tmp_path / "home")  # `adopt` looks in ~/.ollama and the other stores
    env.update(hub_environment(hub_url, tmp_path / "hf"))
    made = Context(root, env)
    yield made
    for cleanup in reversed(made.cleanups):
        cleanup()


# -- the tests ----------------------------------------------------------------------------------


def test_the_parser_reads_commands_continuations_comments_and_output() -> None:
    text = "\n".join(
        [
            "prose",
            "```console",
            '$ rbee-hive models register a --name "A b" \\',
            "      --architecture llama   # a comment",
            "✅ Model a registered",
            "# a comment line, not output",
            "$ llorch pool list",
            "```",
            "```python",
            "$ not a step",
            "```",
        ]
    )
    steps = console_steps(text)
    assert [(s.line, s.program, s.expected) for s in steps] == [
        (3, "rbee-hive", ["✅ Model a registered"]),
        (7, "llorch", []),
    ]
    assert steps[0].command.endswith("\\\n      --architecture llama   # a comment")
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "d"], ["a", "d"])
    assert not matches(["a", "d"], ["a", "b", "d"])
    assert not matches(["a"], ["a", "b"])


def test_the_readme_has_usage_examples_of_both_programs() -> None:
    steps = readme_steps()
    assert {step.program for step in steps} == set(PROGRAMS)
    assert all(step.program in PROGRAMS for step in steps), [
        str(s) for s in steps if s.program not in PROGRAMS
    ]


@pytest.mark.ssh
def test_the_readme_usage_runs_as_shown(context: Context) -> None:
    for step in readme_steps():
        result = run_step(step, context)
        assert result.returncode == 0, f"{step}\nexit {result.returncode}\n{result.stderr}"
        if step.expected:
            actual = [line.rstrip() for line in result.stdout.splitlines()]
            assert matches(step.expected, actual), (
                f"{step}\nthe README shows:\n"
                + "\n".join(step.expected)
                + "\nit printed:\n"
                + "\n".join(actual)
            )
