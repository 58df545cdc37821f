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
import json
import sys

from rbee.hive.context import Hive

PLAN_PREFIX = "rbee-copy-plan "
DONE_PREFIX = "rbee-copy-done "
MAX_HEADER = 64 << 20
"""The manifest line's limit (a record of a few thousand files is well under 1 MB)."""


def run_send(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.copy import CopyError, send_ranges, source_manifest

    if args.manifest:
        hive.out.json(source_manifest(hive.catalog_path, hive.root, args.id))
        return 0
    try:
        document = json.loads(sys.stdin.buffer.read(MAX_HEADER))
        ranges = [(str(path), int(offset)) for path, offset in document]
    except (ValueError, TypeError) as exc:
        raise CopyError(f"send: stdin is not a JSON list of [path, offset]: {exc}") from None
    sys.stdout.flush()
    send_ranges(hive.catalog_path, hive.root, args.id, ranges, sys.stdout.buffer)
    return 0


def run_receive(args: argparse.Namespace, hive: Hive) -> int:
    from rbee.workflows.copy import CopyError, finish, prepare_receive, receive_files

    stdin = sys.stdin.buffer
    line = stdin.readline(MAX_HEADER)
    try:
        header = json.loads(line)
        manifest = header["manifest"]
        if not isinstance(manifest, dict):
            raise TypeError("manifest is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise CopyError(f"receive: the first line on stdin is not a copy header: {exc}") from None
    if manifest.get("entry", {}).get("id") != args.id:
        raise CopyError(f"receive: the manifest on stdin is not model {args.id!r}'s")
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
    sys.stdout.write(prefix + json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()
