"""`rbee-hive completion bash|zsh`: completion scripts generated from the parser itself.

The script knows every command, option and choice (so it cannot drift from `--help`), completes
files and directories for path options, and model ids for `show`, `update`, `unregister` and
`scan` by asking `rbee-hive models catalog -q` (with the `--root`/`--catalog` already on the
line).

One shell function serves both shells: bash runs it directly; zsh runs it through its own
`bashcompinit` layer. It sticks to what both understand (no associative arrays, which macOS's
bash 3.2 lacks; arrays quoted so zsh's non-splitting rules don't matter; no variable called
`path`, which zsh ties to PATH).
"""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive

FUNCTION = "_rbee_hive"
DIRECTORY_OPTIONS = ("--root",)
FILE_OPTIONS = ("--catalog", "--from", "--path")
MODEL_ID_COMMANDS = ("models show", "models update", "models unregister", "models scan")
PATH_POSITIONALS = ("PATH",)
# Options whose values `rbee-hive models catalog -q` needs to find the same catalog.
LOCATION_OPTIONS = ("--root", "--catalog")


def _quote(words: list[str]) -> str:
    return '"' + " ".join(words) + '"'


def _spec_cases(parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """Case arms describing each command path, and the choices of its options."""
    spec: list[str] = []
    choices: list[str] = []

    def visit(path: str, current: argparse.ArgumentParser) -> None:
        options: list[str] = []
        valued: list[str] = []
        subcommands: list[str] = []
        positional = ""
        children: list[tuple[str, argparse.ArgumentParser]] = []
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    subcommands.append(name)
                    children.append((name, child))
                continue
            if action.option_strings:
                options.extend(action.option_strings)
                if action.nargs != 0:
                    valued.extend(action.option_strings)
                    if action.choices:
                        for option in action.option_strings:
                            choices.append(
                                f'        "{path}|{option}") echo {_quote(list(action.choices))} ;;'
                            )
                continue
            if positional:
                continue
            # "1" or "n": how many words the positional takes, so `show ID` stops after one.
            count = "n" if action.nargs in ("*", "+") else "1"
            if action.choices:
                positional = f"{count}:choice:" + " ".join(str(c) for c in action.choices)
            elif path in MODEL_ID_COMMANDS:
                positional = f"{count}:ids"
            elif action.metavar in PATH_POSITIONALS:
                positional = f"{count}:files"
        spec.append(
            f'        "{path}") _subs={_quote(subcommands)}; _opts={_quote(options)};'
            f' _valued={_quote(valued)}; _pos="{positional}" ;;'
        )
        for name, child in children:
            visit(f"{path} {name}".strip(), child)

    visit("", parser)
    return spec, choices


def bash_function() -> str:
    """The completion function (bash syntax that zsh's bashcompinit also runs)."""
    from rbee.hive.arguments import build_parser

    spec, choices = _spec_cases(build_parser(lazy=False))
    spec_arms = "\n".join(spec)
    choice_arms = "\n".join(choices)
    directories = "|".join(DIRECTORY_OPTIONS)
    files = "|".join(FILE_OPTIONS)
    locations = "|".join(LOCATION_OPTIONS)
    return f"""\
{FUNCTION}_spec() {{
    case "$1" in
{spec_arms}
        *) _subs=""; _opts=""; _valued=""; _pos="" ;;
    esac
}}

{FUNCTION}_choices() {{
    case "$1|$2" in
{choice_arms}
    esac
}}

{FUNCTION}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" command_path="" word="" expect="" i=1 given=0
    local _subs _opts _valued _pos
    local -a location
    location=()
    COMPREPLY=()
    {FUNCTION}_spec ""
    while [ "$i" -lt "$COMP_CWORD" ]; do
        word="${{COMP_WORDS[i]}}"
        if [ -n "$expect" ]; then
            case "$expect" in {locations}) location+=("$expect" "$word") ;; esac
            expect=""
        else
            case "$word" in
                -*=*) ;;
                -*) case " $_valued " in *" $word "*) expect="$word" ;; esac ;;
                *) case " $_subs " in
                       *" $word "*) command_path="${{command_path:+$command_path }}$word"
                             {FUNCTION}_spec "$command_path"; given=0 ;;
                       *) given=$((given + 1)) ;;
                   esac ;;
            esac
        fi
        i=$((i + 1))
    done
    if [ -n "$expect" ]; then
        local values
        values="$({FUNCTION}_choices "$command_path" "$expect")"
        if [ -n "$values" ]; then
            COMPREPLY=($(compgen -W "$values" -- "$cur"))
        else
            case "$expect" in
                {directories}) COMPREPLY=($(compgen -d -- "$cur")) ;;
                {files}) COMPREPLY=($(compgen -f -- "$cur")) ;;
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
        ids)
            local ids
            ids="$("${{COMP_WORDS[0]}}" "${{location[@]}}" models catalog -q 2>/dev/null)"
            COMPREPLY=($(compgen -W "$ids" -- "$cur")) ;;
        files) COMPREPLY=($(compgen -f -- "$cur")) ;;
        choice:*) COMPREPLY=($(compgen -W "${{kind#choice:}}" -- "$cur")) ;;
    esac
    return 0
}}
"""


def bash_script() -> str:
    return (
        "# bash completion for rbee-hive; generated by `rbee-hive completion bash`.\n"
        "# Install: rbee-hive completion bash \\\n"
        "#     > ~/.local/share/bash-completion/completions/rbee-hive\n"
        + bash_function()
        + f"complete -F {FUNCTION} rbee-hive\n"
    )


def zsh_script() -> str:
    return (
        "# zsh completion for rbee-hive; generated by `rbee-hive completion zsh`.\n"
        '# Install: add  eval "$(rbee-hive completion zsh)"  to ~/.zshrc, after `compinit`.\n'
        "autoload -U +X bashcompinit && bashcompinit\n"
        + bash_function()
        + f"complete -F {FUNCTION} rbee-hive\n"
    )


def run(args: argparse.Namespace, hive: Hive) -> int:
    hive.out.stdout.write(bash_script() if args.shell == "bash" else zsh_script())
    return 0
