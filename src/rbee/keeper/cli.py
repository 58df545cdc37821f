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

from rbee.cli.errors import run

PROG = "llorch"

REMOTE_SUBCOMMANDS = (
    "catalog",
    "register",
    "unregister",
    "show",
    "update",
    "inspect",
    "scan",
)
"""The `rbee-hive models` subcommands offered remotely; adding one is one line here."""

DEFAULT_PARALLEL = 8

ENVIRONMENT_HELP = """\
environment:
  RBEE_POOLS        the pools file (--pools wins; default: <user config dir>/rbee/pools.toml)
  RBEE_SSH_COMMAND  the ssh command, split as a shell would, e.g. "ssh -F ~/.ssh/pools_config"
  NO_COLOR          no colour (--color wins); FORCE_COLOR: colour even when not a terminal
  RBEE_DEBUG=1      show a traceback on errors

exit codes: 0 success, 1 error (on any pool), 2 usage error, 130 interrupted;
            with one pool, rbee-hive's own exit code. See docs/remote.md."""


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """`--pools` and `--color`, accepted at every level (a later one wins)."""
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("llorch options")
    group.add_argument(
        "--pools",
        metavar="FILE",
        default=default,
        help="the pools file (default: $RBEE_POOLS or <user config dir>/rbee/pools.toml)",
    )
    group.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=default,
        help="colour output: auto (a terminal, unless NO_COLOR is set), always or never",
    )


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
        epilog=ENVIRONMENT_HELP,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True
    pool = commands.add_parser(
        "pool",
        help="the pools and their model catalogs",
        description="The configured pools, and their model catalogs over ssh.",
        epilog=ENVIRONMENT_HELP,
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
        formatter_class=HelpFormatter,
    )
    listing.add_argument("--json", action="store_true", help="print the pools as JSON")
    _add_common_options(listing, top=False)
    listing.set_defaults(handler="rbee.keeper.commands.pool:run_list")

    check = pool_commands.add_parser(
        "check",
        help="can each pool be reached, and is rbee-hive there",
        description="Reach each pool: one line per pool with rbee-hive's version and where its\n"
        "catalog is, or what went wrong. Exit 1 if any pool failed.",
        formatter_class=HelpFormatter,
    )
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    _add_remote_options(check, group_level=False)
    check.set_defaults(handler="rbee.keeper.commands.pool:run_check")

    models = pool_commands.add_parser(
        "models",
        help="rbee-hive's `models` commands, run on the pools",
        description="Run `rbee-hive models SUBCOMMAND` on pools over ssh. With one pool the\n"
        "output and exit code are rbee-hive's own; with several, each pool's output follows\n"
        "its name, failures are reported on stderr and the exit code is 1 if any pool failed.",
        epilog=ENVIRONMENT_HELP,
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
        sub.set_defaults(handler="rbee.keeper.commands.models:run", remote_parser=sub)
    if not lazy:
        subcommands.populate_all()
    return parser


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
    status: int = handler(args)
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
