"""`rbee-hive pool info` (the pool's hardware) and `pool report` (plumbing for `llorch fleet`)."""

from __future__ import annotations

import argparse

from rbee.cli.pool_info import info_lines
from rbee.hive.context import Hive


def run_info(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.hardware import pool_info
    from rbee.workflows.fit import models_folder

    info = pool_info(hive.pool_id, models_folder(hive.catalog_path))
    if args.json:
        hive.out.json(info.to_dict())
    else:
        hive.out.lines(info_lines(info))
    return 0


def run_report(args: argparse.Namespace, hive: Hive) -> int:
    """Catalog, free disk (and hardware, and a fit verdict) in one JSON document."""
    from rbee.workflows.fit import pool_report

    document = pool_report(
        hive.catalog_path,
        hive.root,
        hive.pool_id,
        hardware=bool(args.hardware),
        fit_id=args.fit,
        n_ctx=args.ctx,
        kv_type=args.kv_type,
    )
    hive.out.json(document)
    return 0
