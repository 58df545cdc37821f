"""The `llorch` console script (also installed as `rbee-keeper`): every pool's catalog over ssh.

    llorch pool list
    llorch pool check [--host NAME ... | --all]
    llorch pool models SUBCOMMAND [--host NAME ... | --all] [rbee-hive's options]

The `models` subcommands are rbee-hive's own, built from `rbee.hive.arguments` so that every
option and its help text are the same here as on the pool. Start-up time matters: only argparse
and the argument definitions are imported before a command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rbee.cli import exitcodes
from rbee.cli.errors import run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from rbee.cli.parsing import SubParsersAction

PROG = "llorch"

REMOTE_SUBCOMMANDS = (
    "catalog",
    "register",
    "unregister",
    "show",
    "update",
    "inspect",
    "scan",
    "verify",
    "record",
    "adopt",
    "fit",
    "download",
)
"""The `rbee-hive models` subcommands offered remotely; adding one is one line here."""

REMOTE_HANDLERS = {
    "download": "rbee.keeper.commands.download:run",
    # Long runs too: progress relayed as it comes, Ctrl-C stops the pools' hashing.
    "verify": "rbee.keeper.commands.download:run",
    "record": "rbee.keeper.commands.download:run",
}
"""Subcommands with a handler of their own (default: `rbee.keeper.commands.models:run`)."""

DEFAULT_PARALLEL = 8

ENVIRONMENT_HELP = """\
environment:
  RBEE_POOLS        the pools file (--pools wins; default: <user config dir>/rbee/pools.toml)
  RBEE_SSH_COMMAND  the ssh command, split as a shell would, e.g. "ssh -F ~/.ssh/pools_config"
  NO_COLOR          no colour (--color wins); FORCE_COLOR: colour even when not a terminal
  RBEE_DEBUG=1      show a traceback on errors

exit codes: 0 success, 1 error (on any pool), 2 usage error, 130 interrupted;
            with one pool, rbee-hive's own exit code. See docs/remote.md."""


def _examples(*lines: str) -> str:
    """An `examples:` section for an epilog: real command lines (a test parses each one)."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _epilog(*examples: str) -> str:
    """The environment and exit codes, then examples."""
    return f"{ENVIRONMENT_HELP}\n\n{_examples(*examples)}"


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """`--pools` and `--color`, accepted at every level (a later one wins)."""
    from rbee.cli.options import add_color_option

    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("llorch options")
    group.add_argument(
        "--pools",
        metavar="FILE",
        default=default,
        help="the pools file (default: $RBEE_POOLS or <user config dir>/rbee/pools.toml)",
    )
    add_color_option(group, default=default)


def _add_remote_options(parser: argparse.ArgumentParser, *, group_level: bool) -> None:
    """Which pools and how: `--host` (repeatable), `--all`, `--timeout`, `--parallel`.

    Accepted on the `models` group and on each subcommand. Hosts given at both levels add up
    (separate dests: argparse parses a subcommand into a fresh namespace).
    """
    group = parser.add_argument_group("pools")
    group.add_argument(
        "--host",
        dest="group_hosts" if group_level else "hosts",
        action="append",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="a pool from the pools file, or any ssh destination; repeat for several",
    )
    group.add_argument(
        "--all",
        action="store_true",
        default=argparse.SUPPRESS,
        help="every pool in the pools file",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=argparse.SUPPRESS,
        help="give up on a pool after this long (default: 30)",
    )
    group.add_argument(
        "--parallel",
        metavar="N",
        type=_positive_int,
        default=argparse.SUPPRESS,
        help=f"reach at most N pools at once (default: {DEFAULT_PARALLEL})",
    )
    _add_common_options(parser, top=False)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def build_parser(*, lazy: bool = True) -> argparse.ArgumentParser:
    """The whole `llorch` command line; with `lazy`, a `models` subcommand's arguments are
    added only when it is chosen (start-up time)."""
    from rbee import __version__
    from rbee.cli.parsing import ArgumentParser, HelpFormatter, LazySubParsersAction
    from rbee.hive.arguments import get_subcommand

    parser = ArgumentParser(
        prog=PROG,
        description="The orchestrator side of rbee: every pool's model catalog, over OpenSSH.",
        epilog=_epilog(
            "llorch pool list",
            "llorch pool check --all",
            "llorch pool models catalog --host mac.home.arpa",
            "llorch pool models register --all --test-models",
            "llorch pool models catalog --help    # every command has options and examples",
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True
    pool = commands.add_parser(
        "pool",
        help="the pools and their model catalogs",
        description="The configured pools, and their model catalogs over ssh.",
        epilog=_epilog(
            "llorch pool list",
            "llorch pool check --host mac.home.arpa --host workstation.home.arpa",
            "llorch pool models scan --all --dry-run",
        ),
        formatter_class=HelpFormatter,
    )
    _add_common_options(pool, top=False)
    pool_commands = pool.add_subparsers(
        dest="pool_command", metavar="SUBCOMMAND", title="subcommands"
    )
    pool_commands.required = True

    listing = pool_commands.add_parser(
        "list",
        help="the configured pools",
        description="List the pools in the pools file: name, ssh destination, workdir, rbee-hive.",
        epilog=_examples(
            "llorch pool list",
            "llorch pool list --json",
            "llorch pool list -q",
            "llorch --pools ~/lab-pools.toml pool list",
        ),
        formatter_class=HelpFormatter,
    )
    listing_output = listing.add_mutually_exclusive_group()
    listing_output.add_argument("--json", action="store_true", help="print the pools as JSON")
    listing_output.add_argument(
        "-q", "--quiet", action="store_true", help="print pool names only, one per line"
    )
    _add_common_options(listing, top=False)
    listing.set_defaults(handler="rbee.keeper.commands.pool:run_list")

    check = pool_commands.add_parser(
        "check",
        help="can each pool be reached, and is rbee-hive there",
        description="Reach each pool: one line per pool with rbee-hive's version and where its\n"
        "catalog is, or what went wrong. Exit 1 if any pool failed.",
        epilog=_examples(
            "llorch pool check --all",
            "llorch pool check --host mac.home.arpa --json",
            "llorch pool check --all --timeout 5",
        ),
        formatter_class=HelpFormatter,
    )
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    _add_remote_options(check, group_level=False)
    check.set_defaults(handler="rbee.keeper.commands.pool:run_check")

    info = pool_commands.add_parser(
        "info",
        help="each pool's hardware: OS, CPU, RAM, GPUs and their memory, disk",
        description="Run `rbee-hive pool info` on each pool: rbee version, OS, CPU cores, RAM,\n"
        "GPUs with their total and free memory, the disk at the models folder.\n"
        "Exit 1 if any pool failed.",
        epilog=_examples("llorch pool info --all", "llorch pool info --host mac.home.arpa --json"),
        formatter_class=HelpFormatter,
    )
    info.add_argument("--json", action="store_true", help="print the pools' hardware as JSON")
    _add_remote_options(info, group_level=False)
    info.set_defaults(handler="rbee.keeper.commands.fleet:run_pool_info")

    models = pool_commands.add_parser(
        "models",
        help="rbee-hive's `models` commands, run on the pools",
        description="Run `rbee-hive models SUBCOMMAND` on pools over ssh. With one pool the\n"
        "output and exit code are rbee-hive's own; with several, each pool's output follows\n"
        "its name, failures are reported on stderr and the exit code is 1 if any pool failed.",
        epilog=_epilog(
            "llorch pool models catalog --host mac.home.arpa",
            "llorch pool models --host mac.home.arpa catalog",
            "llorch pool models register --all --test-models",
            "llorch pool models show phi3 --host mac.home.arpa --host workstation.home.arpa --json",
        ),
        formatter_class=HelpFormatter,
    )
    _add_remote_options(models, group_level=True)
    subcommands = models.add_subparsers(
        dest="models_command",
        metavar="SUBCOMMAND",
        title="subcommands",
        action=LazySubParsersAction,
    )
    subcommands.required = True
    assert isinstance(subcommands, LazySubParsersAction)
    for name in REMOTE_SUBCOMMANDS:
        hive_subcommand = get_subcommand(name)
        sub = subcommands.add_lazy_parser(
            name,
            _remote_populator(hive_subcommand.add_arguments),
            help=hive_subcommand.summary,
            description=hive_subcommand.description
            + f"\n\nRuns `rbee-hive models {name}` on each pool given by --host or --all.",
            epilog=_remote_examples(name, getattr(hive_subcommand, "examples", ())),
            formatter_class=HelpFormatter,
        )
        sub.set_defaults(
            handler=REMOTE_HANDLERS.get(name, "rbee.keeper.commands.models:run"),
            remote_parser=sub,
        )
    _add_fleet_parser(commands)
    _add_models_parser(commands)
    _add_completion_parser(commands)
    if not lazy:
        subcommands.populate_all()
    return parser


def _add_fleet_parser(commands: SubParsersAction) -> None:
    """`llorch fleet`: one table of every pool's models (one ssh call per pool)."""
    from rbee.cli.parsing import HelpFormatter
    from rbee.hive.arguments import add_fit_options

    fleet = commands.add_parser(
        "fleet",
        help="one table of the models on every pool",
        description="One table across pools: a row per model (by id; models of the same repo\n"
        "under different ids next to each other), a column per pool, each cell downloaded,\n"
        "registered (not downloaded) or absent; under it, per pool, its models, GB on disk\n"
        "and the free disk at its models folder. A pool that cannot be reached is a column\n"
        "marked with the reason; the table still prints and the exit code is 1.\n"
        "Default: every pool in the pools file. One ssh call per pool, all at once.",
        epilog=_examples(
            "llorch fleet",
            "llorch fleet --model TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            "llorch fleet --fit mistral --ctx 8192",
            "llorch fleet --host mac.home.arpa --host workstation.home.arpa --json",
        ),
        formatter_class=HelpFormatter,
    )
    fleet.add_argument(
        "--model",
        metavar="ID|OWNER/NAME",
        help="only this model (by id or repo): which pools have it, with path and size",
    )
    fleet.add_argument(
        "--fit",
        metavar="ID",
        help="the memory verdict for this model on each pool (see rbee-hive models fit)",
    )
    add_fit_options(fleet)
    fleet.add_argument("--json", action="store_true", help="print the fleet as JSON")
    _add_remote_options(fleet, group_level=False)
    fleet.set_defaults(handler="rbee.keeper.commands.fleet:run_fleet")


def _add_models_parser(commands: SubParsersAction) -> None:
    """`llorch models copy`: a model from one pool to others, through this machine."""
    from rbee.cli.parsing import HelpFormatter

    models = commands.add_parser(
        "models",
        help="models across pools: copy",
        description="Work on models across pools (one pool's catalog: `llorch pool models`).",
        epilog=_examples(
            "llorch models copy tinyllama --from mac.home.arpa --to workstation.home.arpa",
        ),
        formatter_class=HelpFormatter,
    )
    _add_common_options(models, top=False)
    subcommands = models.add_subparsers(
        dest="fleet_models_command", metavar="SUBCOMMAND", title="subcommands"
    )
    subcommands.required = True
    copy = subcommands.add_parser(
        "copy",
        help="copy a model's files from one pool to others, verified",
        description="Copy a model's files from one pool to others over ssh, through this\n"
        "machine (no pool reaches another), and register it there with the source's entry\n"
        "and file record. Every file's sha256 is checked against the record before it takes\n"
        "its final name; an interrupted copy resumes when run again. See docs/copy.md.",
        epilog="examples:\n"
        "  llorch models copy tinyllama --from mac.home.arpa --to workstation.home.arpa\n"
        "  llorch models copy phi3 --from mac.home.arpa --to ws1 --to ws2 --json\n"
        "  llorch models copy phi3 --from mac.home.arpa --to ws1 --path /srv/models/phi3\n"
        "  llorch models copy phi3 --from mac.home.arpa --to ws1 --update",
        formatter_class=HelpFormatter,
    )
    copy.add_argument("id", metavar="ID", help="the model's id on the source pool")
    copy.add_argument(
        "--from", dest="source", metavar="POOL", required=True, help="the pool to copy from"
    )
    copy.add_argument(
        "--to",
        dest="destinations",
        metavar="POOL",
        action="append",
        required=True,
        help="a pool to copy to; repeat for several (copied to at the same time)",
    )
    copy.add_argument(
        "--path",
        metavar="PATH",
        help="the folder on the destination for the files, relative to its root or absolute "
        "(default: the source's path when relative, else .test-models/ID)",
    )
    copy.add_argument(
        "--update",
        action="store_true",
        help="replace a destination entry of the same id whose fields differ",
    )
    output = copy.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the result as JSON")
    output.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    copy.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=30.0,
        help="give up connecting to a pool after this long (default: 30; the copy itself "
        "has no time limit)",
    )
    _add_common_options(copy, top=False)
    copy.set_defaults(handler="rbee.keeper.commands.copy:run")


def _remote_examples(name: str, hive_examples: tuple[str, ...]) -> str | None:
    """rbee-hive's examples for `name`, as llorch command lines.

    Left out: pipes and redirections (they would run here), and `~` (the local shell would
    expand it to the orchestrator's home, not the pool's).
    """
    prefix = f"rbee-hive models {name}"
    lines = [
        f"llorch pool models {name} --host mac.home.arpa" + example.removeprefix(prefix)
        for example in hive_examples
        if example.startswith(prefix) and not any(ch in example for ch in "|<>~")
    ]
    if not lines:
        return None
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add_completion_parser(commands: SubParsersAction) -> None:
    """`llorch completion bash|zsh`."""
    from rbee.cli.parsing import HelpFormatter

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description="Print a completion script for bash or zsh: commands, options, and the\n"
        "pool names of the pools file for --host (see docs/remote.md to install it).",
        epilog=_examples(
            "llorch completion bash > ~/.local/share/bash-completion/completions/llorch",
            'eval "$(llorch completion zsh)"    # in ~/.zshrc, after compinit',
        ),
        formatter_class=HelpFormatter,
    )
    completion.add_argument("shell", choices=("bash", "zsh"), help="the shell")
    _add_common_options(completion, top=False)
    completion.set_defaults(handler="rbee.keeper.completion:run")


def _remote_populator(
    add_hive_arguments: Callable[[argparse.ArgumentParser], None],
) -> Callable[[argparse.ArgumentParser], None]:
    """rbee-hive's own arguments for a subcommand, then llorch's; added when it is chosen."""

    def populate(parser: argparse.ArgumentParser) -> None:
        add_hive_arguments(parser)
        _add_remote_options(parser, group_level=False)

    return populate


def _main(argv: list[str] | None = None) -> int:
    import importlib

    args = build_parser().parse_args(argv)
    module_name, _, function_name = args.handler.partition(":")
    handler = getattr(importlib.import_module(module_name), function_name)
    try:
        status: int = handler(args)
    except KeyboardInterrupt as exc:
        # Ctrl-C while pools were reached: what came in was printed; name what did not.
        from rbee.keeper.commands.common import PoolsInterrupted, output

        if not isinstance(exc, PoolsInterrupted):
            raise
        out = output(args)
        out.stdout.flush()
        newline = "\n" if out.stderr.isatty() else ""  # past the terminal's ^C
        out.hint(f"{newline}{exc.message}")
        return exitcodes.INTERRUPTED
    sys.stdout.flush()
    return status


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C (ending every ssh on the way), then die of
    the signal. Our ssh processes run in sessions of their own, so nothing else would end them:
    they would outlive us, and with them any hung command on a pool."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    """Run `llorch` with `argv` (default: the process's arguments); returns the exit code.

    SIGTERM and SIGHUP (a closed terminal) end every ssh still running, as Ctrl-C does, then
    end llorch by the same signal. Signals ignored by whoever started us (nohup) stay ignored.
    """
    import os
    import signal

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _terminate)
    try:
        return run(lambda: _main(argv), PROG)
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    except Terminated as exc:
        import contextlib

        with contextlib.suppress(OSError, ValueError):  # dying anyway
            sys.stdout.flush()
        signal.signal(exc.signum, signal.SIG_DFL)
        os.kill(os.getpid(), exc.signum)
        return 128 + exc.signum  # if the signal is blocked in this thread
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
