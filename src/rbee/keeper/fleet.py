"""`llorch fleet`'s rules: one `rbee-hive pool report --json` call per pool, and the pools'
answers merged into one document (rows matched by id ignoring case, the same repo together).

The document is described in docs/fleet.md; `rbee.keeper.commands.fleet` renders it.
"""

from __future__ import annotations

import json
from typing import Any

from rbee.cli import exitcodes
from rbee.keeper.config import Pool
from rbee.keeper.ssh import RemoteResult, Runner, plain_lines


def ask_json(runner: Runner, pool: Pool, hive_arguments: list[str]) -> dict[str, Any]:
    """One ssh call: rbee-hive's JSON document, or `{"ok": false, "error", "kind"}`."""
    result: RemoteResult = runner.run(pool, hive_arguments)
    if result.ok:
        try:
            document = json.loads(result.stdout)
        except ValueError:
            first = " ".join(plain_lines(result.stdout)[:1])[:120]
            return _failure(
                pool, f"rbee-hive printed something that is not JSON: {first!r}", "hive"
            )
        if isinstance(document, dict):
            return {"ok": True, **document}
        return _failure(pool, "rbee-hive's answer is not a JSON object", "hive")
    message = result.message.removeprefix(f"{pool.name}: ")
    if result.kind == "hive" and result.exit_code == exitcodes.USAGE:
        message += " (is rbee-hive on this pool older than llorch? it needs `pool report`)"
    return _failure(pool, message, result.kind)


def _failure(pool: Pool, message: str, kind: str) -> dict[str, Any]:
    return {"ok": False, "error": message, "kind": kind}


def report_arguments(fit: str | None, ctx: int | None, kv_type: str) -> list[str]:
    """rbee-hive's arguments for the one call per pool: `pool report --json` (and the fit)."""
    arguments = ["--color", "never", "pool", "report", "--json"]
    if fit:
        arguments.append(f"--fit={fit}")
        if ctx is not None:
            arguments.append(f"--ctx={ctx}")
        arguments.append(f"--kv-type={kv_type}")
    return arguments


def _matches(entry: dict[str, Any], wanted: str) -> bool:
    repo = (entry.get("metadata") or {}).get("repo") or ""
    return bool(
        str(entry.get("id", "")).lower() == wanted.lower() or repo.lower() == wanted.lower()
    )


def fleet_document(
    pools: list[Pool], answers: list[dict[str, Any]], model: str | None = None
) -> dict[str, Any]:
    """`{"pools": {POOL: {...}}, "models": [{"id", "name", "repo", "pools": {...}}]}`.

    Rows are matched by id (any case); rows of the same repo follow each other.
    """
    pool_part: dict[str, Any] = {}
    rows: dict[str, dict[str, Any]] = {}
    for pool, answer in zip(pools, answers, strict=True):
        if not answer.get("ok"):
            pool_part[pool.name] = {
                "ok": False,
                "error": answer.get("error", ""),
                "kind": answer.get("kind", ""),
            }
            continue
        entries = [e for e in answer.get("models", []) if isinstance(e, dict)]
        on_disk = sum(float(e.get("size_gb") or 0) for e in entries if e.get("downloaded"))
        summary: dict[str, Any] = {
            "ok": True,
            "free_bytes": answer.get("free_bytes"),
            "models_dir": answer.get("models_dir"),
            "catalog": answer.get("catalog_path"),
            "version": answer.get("version"),
            "models": len(entries),
            "downloaded": sum(1 for e in entries if e.get("downloaded")),
            "size_gb_on_disk": round(on_disk, 3),
        }
        if "fit" in answer:
            summary["fit"] = answer["fit"]
        if "hardware" in answer:
            summary["hardware"] = answer["hardware"]
        pool_part[pool.name] = summary
        for entry in entries:
            if model is not None and not _matches(entry, model):
                continue
            key = str(entry.get("id", "")).lower()
            repo = (entry.get("metadata") or {}).get("repo")
            row = rows.setdefault(
                key,
                {"id": entry.get("id"), "name": entry.get("name"), "repo": repo, "pools": {}},
            )
            row["repo"] = row["repo"] or repo
            row["pools"][pool.name] = {
                "downloaded": bool(entry.get("downloaded")),
                "size_gb": entry.get("size_gb"),
                "path": entry.get("path"),
            }
    ordered = sorted(
        rows.values(),
        key=lambda row: ((row["repo"] or row["id"] or "").lower(), str(row["id"]).lower()),
    )
    return {"pools": pool_part, "models": ordered}
