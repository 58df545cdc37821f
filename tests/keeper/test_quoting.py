"""Whatever text is sent, the pool receives exactly that text, and nothing runs.

Everything here goes through a real sshd and the pool's real bash.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rbee.catalog import CatalogError, ModelEntry
from rbee.keeper.config import Pool
from rbee.keeper.ssh import Runner, quote_word, remote_script

pytestmark = pytest.mark.ssh

MAC = "mac.home.arpa"
HOSTILE_FIXED = 'it\'s "quoted" $(touch {marker}) ; rm -rf ~ \\'
# Any text the catalog accepts as a name: no control characters, no lone surrogates.
catalog_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029"),
    min_size=1,
    max_size=40,
)
# Anything an argv can hold: every character but NUL (and lone surrogates, which are not text).
any_argument = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
shell_heavy = st.text(
    st.sampled_from(list("'\"\\$`!*?~#&|;<>(){}[] \t-=%^,.:/ab")), min_size=1, max_size=30
)


def accepted_as_name(text: str) -> bool:
    if text == "--":
        return False  # argparse (3.11) cannot take this value; see test_a_bare_double_dash_value
    try:
        ModelEntry(id="probe", name=text, architecture="llama")
    except CatalogError:
        return False
    return True


def test_quote_word_keeps_only_a_leading_tilde_expandable() -> None:
    assert quote_word("~/Projects/llama-orch") == "~/Projects/llama-orch"
    assert quote_word("~/it's here") == "~/'it'\"'\"'s here'"
    assert quote_word("~") == "~"
    assert quote_word("~alice/models") == "~alice/models"
    assert quote_word("/srv/$HOME") == "'/srv/$HOME'"
    assert quote_word("a~/b") == "'a~/b'"
    assert quote_word("~$(x)/y") == "'~$(x)/y'"


def test_the_remote_script_is_cd_then_rbee_hive_and_never_exec() -> None:
    pool = Pool("p", "p", "~/Projects/llama-orch", "~/.local/bin/rbee-hive --flag 'a b'")
    assert remote_script(pool, ["models", "show", "it's"]) == (
        "cd -- ~/Projects/llama-orch >/dev/null || exit 199; "
        "~/.local/bin/rbee-hive --flag 'a b' models show 'it'\"'\"'s'; exit $?"
    )


@pytest.fixture(scope="module")
def echo_runner(ssh_hosts: Any) -> Runner:
    """Runs `printf '%s\\0' ARGS...` through the same remote script as rbee-hive."""
    return Runner(timeout=30, base=ssh_hosts.ssh_argv())


def echo_pool(workdir: str = "~/Projects/llama-orch") -> Pool:
    return Pool(MAC, MAC, workdir, "printf '%s\\0'")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.one_of(
            shell_heavy,
            any_argument,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_argument_reaches_the_pool_byte_for_byte(echo_runner: Runner, words: list[str]) -> None:
    result = echo_runner.run(echo_pool(), words)
    assert result.ok, result.message
    assert result.stdout.split(b"\0")[:-1] == [word.encode() for word in words]


def test_a_hostile_workdir_is_entered_and_not_run(ssh_hosts: Any, echo_runner: Runner) -> None:
    home = ssh_hosts.pools[MAC].home
    marker = home / "workdir-marker"
    # Relative: a '/' cannot be part of a directory name. The pool's shell starts in HOME.
    name = 'it\'s a "dir" $(touch workdir-marker) `touch workdir-marker` ; x'
    (home / name).mkdir(exist_ok=True)
    pool = Pool(MAC, MAC, f"~/{name}", "pwd")
    result = echo_runner.run(pool, [])
    assert result.stdout.decode() == f"{home}/{name}\n"
    assert not marker.exists()


_ids = itertools.count()


@settings(
    # ~0.12 s per example (two remote rbee-hive runs); each example sends two hostile texts.
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    name=st.one_of(catalog_text, shell_heavy).filter(accepted_as_name),
    quantization=st.one_of(shell_heavy, catalog_text).filter(accepted_as_name),
)
def test_any_name_the_catalog_accepts_is_registered_remotely_exactly(
    keeper: Any, name: str, quantization: str
) -> None:
    model_id = f"m{next(_ids)}"
    code, out, err = keeper.in_process(
        "pool",
        "models",
        "register",
        model_id,
        f"--name={name}",
        "--architecture=llama",
        f"--quantization={quantization}",
        "--host",
        MAC,
        "-q",
    )
    assert (code, out, err) == (0, b"", b"")
    code, out, err = keeper.in_process("pool", "models", "show", model_id, "--json", "--host", MAC)
    assert code == 0, err
    entry = json.loads(out)
    assert entry["name"] == name
    assert entry["metadata"]["quantization"] == quantization


def test_the_seed_breaking_name_arrives_exactly_and_nothing_runs(
    keeper: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "x"
    name = HOSTILE_FIXED.format(marker=marker)
    home_before = sorted(p.name for p in keeper.hosts.pools[MAC].home.iterdir())
    result = keeper.run(
        "pool",
        "models",
        "register",
        "tinyllama",
        "--name",
        name,
        "--architecture",
        "llama",
        "--repo",
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "--host",
        MAC,
    )
    assert result.returncode == 0, result.stderr
    shown = keeper.run("pool", "models", "show", "tinyllama", "--json", "--host", MAC)
    assert json.loads(shown.stdout)["name"] == name
    assert not marker.exists()
    assert sorted(p.name for p in keeper.hosts.pools[MAC].home.iterdir()) == home_before


def test_a_bare_double_dash_value_is_refused_rather_than_mangled(keeper: Any) -> None:
    code, _, err = keeper.in_process(
        "pool", "models", "register", "m", "--name=--", "--architecture=llama", "--host", MAC
    )
    assert code == 2
    assert err.decode().startswith("error: --name: the value '--' cannot be passed")
    assert not keeper.catalog_path(MAC).exists()
