"""What the remote commands share: which pools, the ssh runner, reaching pools concurrently."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from typing import TextIO, TypeVar, cast

from rbee.cli.errors import CommandError, UsageError
from rbee.cli.output import Output
from rbee.cli.style import use_color
from rbee.keeper.cli import DEFAULT_PARALLEL
from rbee.keeper.config import Pool, PoolsConfig, load_pools
from rbee.keeper.ssh import DEFAULT_TIMEOUT, Runner, SshConfigError, ssh_base_command

T = TypeVar("T")


def load_config(args: argparse.Namespace) -> PoolsConfig:
    pools = getattr(args, "pools", None)
    return load_pools(pools or None)


def color_choice(args: argparse.Namespace) -> str:
    return getattr(args, "color", None) or "auto"


def wants_color(args: argparse.Namespace, stream: TextIO) -> bool:
    """Colour for `stream` under `--color` and the environment, as rbee-hive decides it.

    A typed `--color` (even `auto`) beats NO_COLOR and FORCE_COLOR.
    """
    typed = getattr(args, "color", None) is not None
    return use_color(stream, color_choice(args), honour_environment=not typed)


def select_pools(args: argparse.Namespace, config: PoolsConfig) -> list[Pool]:
    """The pools named by `--host` (at either level) or `--all`, in the order given."""
    hosts = [*getattr(args, "group_hosts", []), *getattr(args, "hosts", [])]
    if getattr(args, "all", False):
        if hosts:
            raise UsageError("use --host or --all, not both")
        if not config.pools:
            where = config.path if config.exists else f"{config.path} (it does not exist)"
            raise CommandError(
                f'--all: no pools are configured in {where}; add [pools."NAME"] tables '
                "(see docs/remote.md) or name pools with --host"
            )
        return list(config.pools.values())
    if not hosts:
        known = ", ".join(config.pools) if config.pools else "none configured"
        raise UsageError(f"name a pool with --host NAME, or use --all (pools: {known})")
    return [config.pool(host) for host in dict.fromkeys(hosts)]


def make_runner(args: argparse.Namespace, config: PoolsConfig) -> Runner:
    try:
        base = ssh_base_command()
    except SshConfigError as exc:
        raise UsageError(str(exc)) from None
    return Runner(
        timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
        pools_file=config.path,
        base=base,
    )


def parallelism(args: argparse.Namespace) -> int:
    value: int = getattr(args, "parallel", DEFAULT_PARALLEL)
    return value


class PoolsInterrupted(KeyboardInterrupt):
    """Ctrl-C while pools were being reached: these pools' results were not yielded by
    `in_order` (their ssh was ended, or never started). llorch names them in one line on
    stderr and exits 130."""

    def __init__(self, cut_off: list[Pool]) -> None:
        super().__init__(", ".join(pool.name for pool in cut_off))
        self.cut_off = cut_off

    @property
    def message(self) -> str:
        """The one line llorch prints on stderr for it."""
        from rbee.cli.style import printable

        names = ", ".join(printable(pool.name) for pool in self.cut_off)
        return f"interrupted: cut off before answering: {names}"


def in_order(
    pools: list[Pool],
    job: Callable[[Pool], T],
    parallel: int,
    runner: Runner,
    *,
    partial: bool = False,
) -> Iterator[T]:
    """`job(pool)` for every pool, at most `parallel` at once, yielded in the pools' order.

    Each result is yielded as soon as it and every earlier one are done, so output streams.
    Ctrl-C kills every ssh still running and raises `PoolsInterrupted`, naming the pools whose
    results were not yielded. With `partial`, the results that were already in are yielded
    first (in order, skipping the pools that were not done; so each result must say which pool
    it is for), and only the pools that were not done are named. Plain daemon threads rather
    than concurrent.futures: they cost no import time, and a worker still finishing cannot hold
    up the exit.
    """
    if len(pools) == 1 or parallel == 1:
        started = 0  # the pool being reached when Ctrl-C comes; it and the rest are cut off
        try:
            for pool in pools:
                result = job(pool)
                started += 1
                yield result
        except KeyboardInterrupt:
            runner.kill_all()
            raise PoolsInterrupted(pools[started:]) from None
        except BaseException:
            runner.kill_all()
            raise
        return
    import threading

    slots = threading.BoundedSemaphore(parallel)
    done = [threading.Event() for _ in pools]
    outcomes: list[tuple[bool, object]] = [(False, None)] * len(pools)

    def work(index: int, pool: Pool) -> None:
        with slots:
            try:
                outcomes[index] = (True, job(pool))
            except BaseException as exc:
                outcomes[index] = (False, exc)
            finally:
                done[index].set()

    def outcome(index: int) -> T:
        succeeded, value = outcomes[index]
        if not succeeded:
            assert isinstance(value, BaseException)
            raise value
        return cast(T, value)

    yielded = 0
    try:
        for index, pool in enumerate(pools):
            threading.Thread(target=work, args=(index, pool), daemon=True).start()
        for index in range(len(pools)):
            done[index].wait()
            result = outcome(index)
            yielded = index + 1
            yield result
    except KeyboardInterrupt:
        # What is in now counts; whatever finishes while ssh is being ended does not.
        finished = [
            index for index in range(yielded, len(pools)) if partial and done[index].is_set()
        ]
        runner.kill_all()
        for index in finished:
            yield outcome(index)
        raise PoolsInterrupted(
            [pool for index, pool in enumerate(pools[yielded:], yielded) if index not in finished]
        ) from None
    except BaseException:
        runner.kill_all()
        raise


def output(args: argparse.Namespace) -> Output:
    """Where llorch's commands print: the shared `Output`, coloured as rbee-hive decides it.

    A typed `--color` (even `auto`) beats NO_COLOR and FORCE_COLOR.
    """
    typed = getattr(args, "color", None) is not None
    return Output(color_choice(args), honour_environment=not typed)


_SGR = re.compile(r"(\x1b\[[0-9;]*m)")


def safe_text(data: bytes, *, color: bool | None = None) -> str:
    """What a pool wrote, made safe for our terminal: each control character escaped
    (`\\x1b`), except line ends. `color=True` keeps colour sequences (we asked rbee-hive for
    them with `--color always`), `color=False` drops them; `None` escapes them like the rest.
    """
    from rbee.cli.style import printable

    def escape(line: str) -> str:
        if color is None:
            return printable(line)
        parts = _SGR.split(line)  # odd items are colour sequences
        return "".join(
            (part if color else "") if number % 2 else printable(part)
            for number, part in enumerate(parts)
        )

    text = data.decode("utf-8", errors="replace")
    return "\n".join(escape(line.removesuffix("\r")) for line in text.split("\n"))


def write_bytes(stream: TextIO, data: bytes) -> None:
    """Write raw bytes to a text stream's buffer, in order with text already written to it."""
    Output(stdout=stream).write_bytes(data)
