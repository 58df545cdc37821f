"""What every `rbee-hive` command is handed: where the pool and its catalog are, and the output.

Paths: the pool's root is `--root`, else `$RBEE_ROOT`, else the current directory. The catalog is
`--catalog`, else `$RBEE_CATALOG`, else `ROOT/.test-models/catalog.json`. A root that is not a
directory, or a catalog given by --catalog/RBEE_CATALOG whose folder does not exist, is an error
for every command (a typo, likely): only the default models folder is ever created. A new
catalog's pool id is `--pool-id`, else `$RBEE_POOL_ID`, else the host name (from `uname`: no DNS
look-up, which would cost start-up time and can hang).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from rbee.cli.output import Output

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from rbee.workflows.progress import Progress

DEFAULT_CATALOG_PATH = ".test-models/catalog.json"
"""`rbee.catalog.DEFAULT_CATALOG_PATH`, relative to the pool's root."""


def _setting(args: argparse.Namespace, name: str, environ: Mapping[str, str], variable: str) -> str:
    value = getattr(args, name, None)
    if value is not None:
        if not str(value):
            # `--catalog "$UNSET"` in a script must not quietly mean the default catalog.
            from rbee.cli.errors import UsageError

            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} needs a value; leave it out for the default")
        return str(value)
    return environ.get(variable, "")


def host_pool_id() -> str:
    """The machine's host name, as `uname -n` prints it."""
    return os.uname().nodename or "localhost"


def _require_catalog_folder(catalog: str, root: str) -> None:
    """An explicit catalog's folder must exist: only the default models folder is created."""
    folder = os.path.dirname(os.path.abspath(catalog))
    default = os.path.abspath(os.path.join(root, os.path.dirname(DEFAULT_CATALOG_PATH)))
    if folder != default and not os.path.isdir(folder):
        from rbee.cli.errors import CommandError

        raise CommandError(
            f"the catalog's folder {folder} does not exist (--catalog/RBEE_CATALOG): "
            "create it first, or leave the option out for ROOT/.test-models/catalog.json"
        )


class Hive:
    """The resolved global options of one `rbee-hive` run."""

    def __init__(
        self,
        args: argparse.Namespace,
        environ: Mapping[str, str] | None = None,
        output: Output | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.root = _setting(args, "root", env, "RBEE_ROOT") or "."
        self.require_root()
        catalog = _setting(args, "catalog", env, "RBEE_CATALOG")
        if catalog:
            _require_catalog_folder(catalog, self.root)
        else:
            # Not imported from rbee.catalog: commands that never open the catalog (inspect)
            # must not pay for importing it. A test checks the two constants agree.
            catalog = (
                os.path.join(self.root, DEFAULT_CATALOG_PATH)
                if self.root != "."
                else DEFAULT_CATALOG_PATH
            )
        self.catalog_path = catalog
        self.pool_id = _setting(args, "pool_id", env, "RBEE_POOL_ID") or host_pool_id()
        # `-q`: a script asked for silence on success, progress notes included.
        self.quiet = getattr(args, "quiet", False) is True
        given_color = getattr(args, "color", None)
        self.color = given_color or "auto"
        if output is None:
            output = Output(self.color, honour_environment=given_color is None)
        self.out = output

    def long_running_progress(self, args: argparse.Namespace) -> Progress:
        """The progress on stderr for a long-running command (download, verify, record, adopt).

        Honours `-q` and the hidden plumbing options llorch passes: `--progress` (json, to draw
        one line per pool) and `--stop-on-stdin-eof` (llorch's ssh went away: stop as on Ctrl-C).
        """
        from rbee.cli.progress import make_progress

        if getattr(args, "stop_on_stdin_eof", False):
            from rbee.cli.streams import stop_when_stdin_closes

            stop_when_stdin_closes()
        mode = getattr(args, "progress", None) or "auto"
        return make_progress(self.out.stderr, quiet=self.quiet, mode=mode)

    def require_root(self) -> None:
        """Refuse a pool root that does not exist (a typo, likely); every command checks it."""
        if self.root != "." and not os.path.isdir(self.root):
            from rbee.cli.errors import CommandError

            raise CommandError(f"the pool root {self.root} is not a directory (--root/RBEE_ROOT)")

    def note_if_locked(self) -> None:
        """Say on stderr that we wait, when another process is writing the catalog right now.

        The lock is taken (and waited for, up to its timeout) by the catalog library; without
        this note a user would face a silent pause. A probe: nothing is created, nothing kept.
        """
        if self.quiet:
            return
        import fcntl

        from rbee.catalog.storage import lock_path_for

        try:
            probe = os.open(
                lock_path_for(os.path.realpath(self.catalog_path)), os.O_RDONLY | os.O_CLOEXEC
            )
        except OSError:
            return  # no lock file yet (or none we may read): nobody to wait for
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.out.hint(
                f"Waiting for another rbee process to finish writing {self.catalog_path}..."
            )
        except OSError:
            pass
        finally:
            os.close(probe)  # also releases the probe's lock, if it got it
