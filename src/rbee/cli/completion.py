"""Shell completion scripts for bash and zsh, generated from a program's own parser.

`rbee-hive completion bash|zsh` and `llorch completion bash|zsh` are both this generator, given
a `Completion` that says what their words mean: which options take files or directories, which
option values and positionals come from running the program itself (model ids from
`rbee-hive models catalog -q`, pool names from `llorch pool list -q`), and which options on the
line those runs must see again (`--root`, `--catalog`, `--pools`).

The script knows every command, option and choice (so it cannot drift from `--help`); commands
and options hidden from `--help` (plumbing) are not offered. One shell function serves both
shells: bash runs it directly; zsh runs it through its own `bashcompinit` layer. It sticks to
what both understand (no associative arrays, which macOS's bash 3.2 lacks; arrays quoted so
zsh's non-splitting rules don't matter; no variable called `path`, which zsh ties to PATH).
"""

from __future__ import annotations

import argparse

from rbee.cli.parsing import is_subcommands, parser_actions
from rbee.cli.parsing import subcommands as listed_subcommands


class Completion:
    """What a program's words mean to its completion script.

    `function`: the shell function's name (`_rbee_hive`). `directory_options`, `file_options`:
    options completed with directories or files. `dynamic_options`: option string or metavar
    (`--host`, `POOL`) -> kind, and `dynamic_positionals`: command path (`"models show"`) ->
    kind, completed with the words that `kinds[kind]` prints: a shell command line run with the
    program (`"${COMP_WORDS[0]}"`) and the `location_options` already typed
    (`"${location[@]}"`). `path_positionals`: positional metavars completed with files.
    """

    def __init__(
        self,
        prog: str,
        function: str,
        *,
        directory_options: tuple[str, ...] = (),
        file_options: tuple[str, ...] = (),
        dynamic_options: dict[str, str] | None = None,
        dynamic_positionals: dict[str, str] | None = None,
        kinds: dict[str, str] | None = None,
        location_options: tuple[str, ...] = (),
        path_positionals: tuple[str, ...] = (),
    ) -> None:
        self.prog = prog
        self.function = function
        self.directory_options = directory_options
        self.file_options = file_options
        self.dynamic_options = dynamic_options or {}
        self.dynamic_positionals = dynamic_positionals or {}
        self.kinds = kinds or {}
        self.location_options = location_options
        self.path_positionals = path_positionals


def _quote(words: list[str]) -> str:
    return '"' + " ".join(words) + '"'


def _spec_cases(
    parser: argparse.ArgumentParser, completion: Completion
) -> tuple[list[str], list[str]]:
    """Case arms describing each command path, and the choices of its options."""
    spec: list[str] = []
    choices: list[str] = []
    dynamic = completion.dynamic_options

    def visit(path: str, current: argparse.ArgumentParser) -> None:
        options: list[str] = []
        valued: list[str] = []
        subcommands: list[str] = []
        positional = ""
        children: list[tuple[str, argparse.ArgumentParser]] = []
        for action in parser_actions(current):
            if is_subcommands(action):
                # Plumbing commands (no help line) are left out.
                for name, child in listed_subcommands(current, listed_only=True):
                    subcommands.append(name)
                    children.append((name, child))
                continue
            if action.option_strings:
                if action.help == argparse.SUPPRESS:  # plumbing options: not offered
                    continue
                options.extend(action.option_strings)
                if action.nargs != 0:
                    valued.extend(action.option_strings)
                    kind = dynamic.get(str(action.metavar)) or next(
                        (dynamic[o] for o in action.option_strings if o in dynamic), None
                    )
                    for option in action.option_strings:
                        if action.choices:
                            words = f"echo {_quote([str(c) for c in action.choices])}"
                        elif kind:
                            words = f"{completion.function}_values {kind}"
                        else:
                            continue
                        choices.append(f'        "{path}|{option}") {words} ;;')
                continue
            if positional:
                continue
            # "1" or "n": how many words the positional takes, so `show ID` stops after one.
            count = "n" if action.nargs in ("*", "+") else "1"
            if action.choices:
                positional = f"{count}:choice:" + " ".join(str(c) for c in action.choices)
            elif path in completion.dynamic_positionals:
                positional = f"{count}:kind:{completion.dynamic_positionals[path]}"
            elif action.metavar in completion.path_positionals:
                positional = f"{count}:files"
        spec.append(
            f'        "{path}") _subs={_quote(subcommands)}; _opts={_quote(options)};'
            f' _valued={_quote(valued)}; _pos="{positional}" ;;'
        )
        for name, child in children:
            visit(f"{path} {name}".strip(), child)

    visit("", parser)
    return spec, choices


def bash_function(parser: argparse.ArgumentParser, completion: Completion) -> str:
    """The completion function (bash syntax that zsh's bashcompinit also runs)."""
    spec, choices = _spec_cases(parser, completion)
    function = completion.function
    spec_arms = "\n".join(spec)
    choice_arms = "\n".join(choices)
    kind_arms = "\n".join(
        f"        {kind}) {command} 2>/dev/null ;;" for kind, command in completion.kinds.items()
    )
    value_arms = []
    if completion.directory_options:
        directories = "|".join(completion.directory_options)
        value_arms.append(f'                {directories}) COMPREPLY=($(compgen -d -- "$cur")) ;;')
    if completion.file_options:
        files = "|".join(completion.file_options)
        value_arms.append(f'                {files}) COMPREPLY=($(compgen -f -- "$cur")) ;;')
    values = "\n".join(value_arms)
    location = (
        f'case "$expect" in {"|".join(completion.location_options)}) '
        'location+=("$expect" "$word") ;; esac'
        if completion.location_options
        else ":"
    )
    return f"""\
{function}_spec() {{
    case "$1" in
{spec_arms}
        *) _subs=""; _opts=""; _valued=""; _pos="" ;;
    esac
}}

{function}_choices() {{
    case "$1|$2" in
{choice_arms}
        *) ;;
    esac
}}

{function}_values() {{
    case "$1" in
{kind_arms}
        *) ;;
    esac
}}

{function}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" command_path="" word="" expect="" i=1 given=0
    local _subs _opts _valued _pos
    local -a location
    location=()
    COMPREPLY=()
    {function}_spec ""
    while [ "$i" -lt "$COMP_CWORD" ]; do
        word="${{COMP_WORDS[i]}}"
        if [ -n "$expect" ]; then
            {location}
            expect=""
        else
            case "$word" in
                -*=*) ;;
                -*) case " $_valued " in *" $word "*) expect="$word" ;; esac ;;
                *) case " $_subs " in
                       *" $word "*) command_path="${{command_path:+$command_path }}$word"
                             {function}_spec "$command_path"; given=0 ;;
                       *) given=$((given + 1)) ;;
                   esac ;;
            esac
        fi
        i=$((i + 1))
    done
    if [ -n "$expect" ]; then
        local values
        values="$({function}_choices "$command_path" "$expect")"
        if [ -n "$values" ]; then
            COMPREPLY=($(compgen -W "$values" -- "$cur"))
        else
            case "$expect" in
{values}
                *) ;;
            esac
        fi
        return 0
    fi
    case "$cur" in
        -*) COMPREPLY=($(compgen -W "$_opts" -- "$cur")); return 0 ;;
    esac
    if [ -n "$_subs" ]; then
        COMPREPLY=($(compgen -W "$_subs" -- "$cur"))
        return 0
    fi
    case "$_pos" in
        1:*) [ "$given" -eq 0 ] || return 0 ;;
    esac
    local kind="${{_pos#?:}}"
    case "$kind" in
        kind:*) COMPREPLY=($(compgen -W "$({function}_values "${{kind#kind:}}")" -- "$cur")) ;;
        files) COMPREPLY=($(compgen -f -- "$cur")) ;;
        choice:*) COMPREPLY=($(compgen -W "${{kind#choice:}}" -- "$cur")) ;;
    esac
    return 0
}}
"""


def bash_script(parser: argparse.ArgumentParser, completion: Completion) -> str:
    prog = completion.prog
    return (
        f"# bash completion for {prog}; generated by `{prog} completion bash`.\n"
        f"# Install: {prog} completion bash \\\n"
        f"#     > ~/.local/share/bash-completion/completions/{prog}\n"
        + bash_function(parser, completion)
        + f"complete -F {completion.function} {prog}\n"
    )


def zsh_script(parser: argparse.ArgumentParser, completion: Completion) -> str:
    prog = completion.prog
    return (
        f"# zsh completion for {prog}; generated by `{prog} completion zsh`.\n"
        f'# Install: add  eval "$({prog} completion zsh)"  to ~/.zshrc, after `compinit`.\n'
        "autoload -U +X bashcompinit && bashcompinit\n"
        + bash_function(parser, completion)
        + f"complete -F {completion.function} {prog}\n"
    )


def script(shell: str, parser: argparse.ArgumentParser, completion: Completion) -> str:
    """The completion script for `shell` ("bash" or "zsh")."""
    return (bash_script if shell == "bash" else zsh_script)(parser, completion)
