"""`rbee-hive models send|receive`: the pool's ends of `llorch models copy` (plumbing).

Hidden from `--help`: people run `llorch models copy`, which runs these over ssh and relays the
bytes from one to the other. The rules are in `rbee.workflows.copy`; see docs/copy.md.

    send ID --manifest   stdout: {"entry": {...with its record...}, "layout": "directory"}
    send ID              stdin: [[PATH, OFFSET], ...]; stdout: those byte ranges, back to back
    receive ID --source-pool NAME [--path P] [--update]
                         stdin: one JSON line {"manifest": ...}, then the bytes;
                         stdout: `rbee-copy-plan {...}` once planned, `rbee-copy-done {...}`
                         once every file is verified, in place and registered
"""

from __future__ import annotations

import argparse
import sys

from rbee.hive.context import Hive


def run_send(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.copy import read_ranges, send_ranges, source_manifest

    if args.manifest:
        hive.out.json(source_manifest(hive.catalog_path, hive.root, args.id))
        return 0
    ranges = read_ranges(sys.stdin.buffer)
    sys.stdout.flush()
    send_ranges(hive.catalog_path, hive.root, args.id, ranges, sys.stdout.buffer)
    return 0


def run_receive(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.copy import (
        DONE_PREFIX,
        PLAN_PREFIX,
        finish,
        prepare_receive,
        read_manifest,
        receive_files,
    )

    stdin = sys.stdin.buffer
    manifest = read_manifest(stdin, args.id)
    with prepare_receive(
        hive.catalog_path,
        hive.root,
        hive.pool_id,
        manifest,
        source_pool=args.source_pool,
        dest_path=args.path,
        update=args.update,
    ) as reception:
        _say(PLAN_PREFIX, reception.plan())
        received = 0
        if not reception.up_to_date:
            received = receive_files(reception, stdin)
        entry = finish(reception)
        _say(DONE_PREFIX, {"received": received, "path": entry["path"]})
    return 0


def _say(prefix: str, document: object) -> None:
    import json

    sys.stdout.write(prefix + json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()
