"""What the remote commands share: which pools, the ssh runner, reaching pools concurrently."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import TextIO, TypeVar, cast

from rbee.cli.errors import CommandError, UsageError
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


def in_order(
    pools: list[Pool], job: Callable[[Pool], T], parallel: int, runner: Runner
) -> Iterator[T]:
    """`job(pool)` for every pool, at most `parallel` at once, yielded in the pools' order.

    Each result is yielded as soon as it and every earlier one are done, so output streams.
    Ctrl-C kills every ssh still running. Plain daemon threads rather than concurrent.futures:
    they cost no import time, and a worker still finishing cannot hold up the exit.
    """
    if len(pools) == 1 or parallel == 1:
        try:
            for pool in pools:
                yield job(pool)
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

    try:
        for index, pool in enumerate(pools):
            threading.Thread(target=work, args=(index, pool), daemon=True).start()
        for index in range(len(pools)):
            done[index].wait()
            succeeded, value = outcomes[index]
            if not succeeded:
                assert isinstance(value, BaseException)
                raise value
            yield cast(T, value)
    except BaseException:
        runner.kill_all()
        raise


def write_bytes(stream: TextIO, data: bytes) -> None:
    """Write raw bytes to a text stream's buffer, in order with text already written to it."""
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode("utf-8", errors="replace"))
        stream.flush()
