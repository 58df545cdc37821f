"""`rbee-hive models inspect PATH`: what a model's file headers say; the catalog is not touched."""

from __future__ import annotations

import argparse

from rbee.hive.context import Hive


def run(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.cli.errors import CommandError
    from rbee.hive.model_files import info_lines, resolve_on_pool
    from rbee.modelfiles import ModelFileError, inspect_path

    try:
        info = inspect_path(resolve_on_pool(hive, args.path))
    except ModelFileError as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        hive.out.json(info.to_dict())
    else:
        hive.out.lines(info_lines(info, hive.out.style))
    return 0
