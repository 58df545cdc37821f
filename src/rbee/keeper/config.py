"""`pools.toml`: the pools llorch knows, and how to reach each one.

    [pools."mac.home.arpa"]
    ssh = "mac.home.arpa"             # ssh destination; defaults to the pool's name
    workdir = "~/Projects/llama-orch" # where rbee-hive runs on the pool (its root)
    hive = "rbee-hive"                # the command that runs rbee-hive there

The file is `--pools FILE`, else `$RBEE_POOLS`, else `<user config dir>/rbee/pools.toml`.
A missing file means no configured pools; a malformed one is an error naming the file and line.
"""

from __future__ import annotations

import os
import re
import shlex

from rbee.cli.errors import CommandError, UsageError

DEFAULT_WORKDIR = "~/Projects/llama-orch"
DEFAULT_HIVE = "rbee-hive"
POOL_KEYS = ("ssh", "workdir", "hive")


class Pool:
    """One pool: its name (as shown), ssh destination, remote workdir and rbee-hive command.

    (Plain classes here and in `ssh`: importing dataclasses costs start-up time.)
    """

    __slots__ = ("configured", "hive", "name", "ssh", "workdir")

    def __init__(
        self,
        name: str,
        ssh: str,
        workdir: str = DEFAULT_WORKDIR,
        hive: str = DEFAULT_HIVE,
        configured: bool = True,
    ) -> None:
        self.name = name
        self.ssh = ssh
        self.workdir = workdir
        self.hive = hive
        self.configured = configured

    def _key(self) -> tuple[str, str, str, str, bool]:
        return (self.name, self.ssh, self.workdir, self.hive, self.configured)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pool) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Pool({self.name!r}, ssh={self.ssh!r}, workdir={self.workdir!r}, "
            f"hive={self.hive!r}, configured={self.configured!r})"
        )

    def hive_words(self) -> list[str]:
        """`hive` split into words as a POSIX shell would (validated when the file is read)."""
        return shlex.split(self.hive)


class PoolsConfig:
    """The pools file's path, whether it exists, and its pools in file order."""

    __slots__ = ("exists", "path", "pools")

    def __init__(self, path: str, exists: bool, pools: dict[str, Pool]) -> None:
        self.path = path
        self.exists = exists
        self.pools = pools

    def pool(self, name: str) -> Pool:
        """The configured pool `name`, or an ad-hoc pool reached at ssh destination `name`."""
        configured = self.pools.get(name)
        if configured is not None:
            return configured
        check_destination(name, "--host")
        return Pool(name=name, ssh=name, configured=False)


def default_pools_path() -> str:
    """`$RBEE_POOLS`, else `<user config dir>/rbee/pools.toml`."""
    from_env = os.environ.get("RBEE_POOLS", "")
    if from_env:
        return from_env
    import platformdirs

    return os.path.join(platformdirs.user_config_dir("rbee", appauthor=False), "pools.toml")


def check_destination(destination: str, where: str) -> None:
    """Refuse destinations ssh could take for an option, or that cannot be a host name."""
    if not destination:
        raise UsageError(f"{where}: the ssh destination is empty")
    if destination.startswith("-"):
        raise UsageError(
            f"{where}: refusing ssh destination {destination!r}: it starts with '-', "
            "so ssh would read it as an option"
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in destination):
        raise UsageError(
            f"{where}: ssh destination {destination!r} contains whitespace or control characters"
        )


def load_pools(path: str | os.PathLike[str] | None = None) -> PoolsConfig:
    """Read the pools file (`path`, else the default); a missing file is an empty config."""
    explicit = path is not None
    target = os.fspath(path) if path is not None else default_pools_path()
    try:
        with open(target, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        if explicit:
            raise CommandError(f"{target}: no such pools file") from None
        return PoolsConfig(target, False, {})
    except OSError as exc:
        raise CommandError(f"{target}: cannot read the pools file: {exc.strerror or exc}") from exc
    import tomllib

    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CommandError(f"{target}:{line}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise CommandError(f"{target}: {_toml_message(str(exc))}") from None
    return PoolsConfig(target, True, _pools_from_document(document, target, data.decode("utf-8")))


def _toml_message(message: str) -> str:
    """`Invalid value (at line 3, column 5)` -> `line 3, column 5: invalid value`."""
    import re

    found = re.match(r"^(.*) \(at line (\d+), column (\d+)\)$", message)
    if not found:
        return f"not valid TOML: {message}"
    reason, line, column = found.groups()
    return f"line {line}, column {column}: not valid TOML: {reason[:1].lower()}{reason[1:]}"


class _Lines:
    """Finds the line of a pool's table or of one of its keys, to point errors at it.

    Table headers are read with tomllib itself (so `[pools.mac]`, `[pools."mac"]` and
    `[ pools . 'mac' ]` are the same table), and a key is looked for only inside its pool's
    table: the same key in an earlier pool, or a pool's name in a comment, is not the culprit.
    Anything else (inline tables, dotted keys) falls back to the first line mentioning it.
    """

    _HEADER = re.compile(r"^\s*\[(?!\[).*\]\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables: list[tuple[int, tuple[str, ...]]] = []
        for number, line in enumerate(self.lines, start=1):
            if self._HEADER.match(line):
                self.tables.append((number, _table_path(line)))

    def of(self, needle: str) -> str:
        for number, line in enumerate(self.lines, start=1):
            if needle in line:
                return f":{number}"
        return ""

    def of_pool(self, name: str) -> str:
        for number, path in self.tables:
            if path == ("pools", name):
                return f":{number}"
        return self.of(name)

    def of_key(self, name: str, key: str) -> str:
        assignment = re.compile(
            rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*="
        )
        for index, (start, path) in enumerate(self.tables):
            if path != ("pools", name):
                continue
            end = self.tables[index + 1][0] if index + 1 < len(self.tables) else len(self.lines) + 1
            for number in range(start + 1, end):
                if assignment.match(self.lines[number - 1]):
                    return f":{number}"
            return f":{start}"
        pool_line = self.of_pool(name)
        return pool_line or self.of(key)


def _table_path(header: str) -> tuple[str, ...]:
    """The key path of a `[a."b c"]` header line, () if it does not parse on its own."""
    import tomllib

    try:
        node: object = tomllib.loads(header.strip())
    except tomllib.TOMLDecodeError:
        return ()
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        path.append(key)
    return tuple(path)


def _pools_from_document(document: dict[str, object], path: str, text: str) -> dict[str, Pool]:
    lines = _Lines(text)
    unknown = [key for key in document if key != "pools"]
    if unknown:
        raise CommandError(
            f"{path}{lines.of(unknown[0])}: unknown top-level key {unknown[0]!r}; "
            'pools are tables named [pools."NAME"]'
        )
    tables = document.get("pools", {})
    if not isinstance(tables, dict):
        raise CommandError(f"{path}{lines.of('pools')}: 'pools' must be a table of pools")
    pools: dict[str, Pool] = {}
    for name, table in tables.items():
        if not name.strip() or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
            # Pool names are printed as headers and in every message: no terminal controls.
            raise CommandError(
                f"{path}{lines.of_pool(name)}: pool {name!r}: a pool name must be non-blank "
                "and free of control characters"
            )
        if not isinstance(table, dict):
            raise CommandError(
                f'{path}{lines.of_pool(name)}: pool {name!r}: must be a table ([pools."{name}"])'
            )
        for key in table:
            if key not in POOL_KEYS:
                raise CommandError(
                    f"{path}{lines.of_key(name, key)}: pool {name!r}: unknown key {key!r} "
                    f"(known: {', '.join(POOL_KEYS)})"
                )
        values: dict[str, str] = {"ssh": name, "workdir": DEFAULT_WORKDIR, "hive": DEFAULT_HIVE}
        for key in POOL_KEYS:
            if key not in table:
                continue
            value = table[key]
            if not isinstance(value, str) or not value.strip():
                raise CommandError(
                    f"{path}{lines.of_key(name, key)}: pool {name!r}: {key}: "
                    "must be a non-empty string"
                )
            values[key] = value
        ssh = values["ssh"]
        ssh_where = f"{path}{lines.of_key(name, 'ssh') if 'ssh' in table else lines.of_pool(name)}"
        try:
            check_destination(ssh, f"{ssh_where}: pool {name!r}: ssh")
        except UsageError as exc:
            raise CommandError(str(exc)) from None
        hive = values["hive"]
        hive_where = f"{path}{lines.of_key(name, 'hive')}: pool {name!r}: hive"
        try:
            words = shlex.split(hive)
        except ValueError as exc:
            raise CommandError(f"{hive_where}: {exc}") from None
        if not words:
            raise CommandError(f"{hive_where}: is empty")
        pools[name] = Pool(name=name, ssh=ssh, workdir=values["workdir"], hive=hive)
    return pools
