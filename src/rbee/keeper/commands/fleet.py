"""`llorch fleet` (one table across pools) and `llorch pool info` (each pool's hardware).

The command side: which pools, then rendering. Asking the pools and merging their answers into
one document is `rbee.keeper.fleet`.

Each pool is reached with ONE ssh call, all pools at once: `rbee-hive pool report --json` returns
the catalog, the free disk at the models folder and, for `--fit`, the pool's hardware and the
model's memory verdict. A pool that cannot be reached is a column marked with the reason; the
table still prints and the exit code is 1. The JSON document is described in docs/fleet.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from rbee.cli import exitcodes
from rbee.cli.errors import report
from rbee.cli.style import Styler, printable
from rbee.cli.table import cell_width, pad
from rbee.keeper.commands.common import (
    in_order,
    load_config,
    make_runner,
    output,
    parallelism,
    select_pools,
)
from rbee.keeper.config import Pool
from rbee.keeper.fleet import ask_json, fleet_document, report_arguments
from rbee.keeper.ssh import Runner

DOWNLOADED = "✅"
REGISTERED = "❌"
ABSENT = "-"
UNREACHABLE = "?"


def _pools(args: argparse.Namespace) -> tuple[list[Pool], Runner]:
    config = load_config(args)
    if not getattr(args, "hosts", None) and not getattr(args, "all", False):
        if not config.pools:
            from rbee.cli.errors import CommandError

            where = config.path if config.exists else f"{config.path} (it does not exist)"
            raise CommandError(
                f'no pools are configured in {where}; add [pools."NAME"] tables (see '
                "docs/remote.md) or name pools with --host"
            )
        args.all = True  # the fleet is every pool unless --host says otherwise
    pools = select_pools(args, config)
    return pools, make_runner(args, config)


# -- rendering ----------------------------------------------------------------------------------


def _gb(size: Any) -> str:
    return f"{float(size or 0):.1f} GB"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _free(n_bytes: object) -> str:
    if not isinstance(n_bytes, int):
        return "? free"
    return f"{n_bytes / 1e9:.1f} GB free"


def _table(rows: list[list[str]], style: Styler) -> list[str]:
    widths = [max(cell_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        line = "  ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True))
        line = line.rstrip()
        lines.append(style(line, "bold") if number == 0 else line)
    return lines


def render_fleet(document: dict[str, Any], style: Styler) -> list[str]:
    pools = document["pools"]
    names = list(pools)
    header = ["MODEL", "REPO"] + [
        printable(name) + ("" if pools[name]["ok"] else " (unreachable)") for name in names
    ]
    rows = [header]
    for model in document["models"]:
        row = [printable(str(model["id"])), printable(str(model["repo"] or "-"))]
        for name in names:
            if not pools[name]["ok"]:
                row.append(UNREACHABLE)
                continue
            cell = model["pools"].get(name)
            if cell is None:
                row.append(ABSENT)
            elif cell["downloaded"]:
                row.append(f"{DOWNLOADED} {_gb(cell['size_gb'])}")
            else:
                row.append(f"{REGISTERED} registered")
        rows.append(row)
    lines = _table(rows, style)
    if not document["models"]:
        lines.append("(no models on the pools that answered)")
    lines.append("")
    width = max(len(printable(name)) for name in names)
    for name in names:
        summary = pools[name]
        label = printable(name).ljust(width)
        if summary["ok"]:
            lines.append(
                f"{label}  {_count(summary['models'], 'model')} "
                f"({summary['downloaded']} downloaded), "
                f"{_gb(summary['size_gb_on_disk'])} on disk, {_free(summary['free_bytes'])} "
                f"at {printable(str(summary['models_dir']))}"
            )
        else:
            lines.append(
                f"{label}  {style('unreachable', 'red')} ({summary['kind']}): "
                f"{printable(str(summary['error']))}"
            )
    return lines


def render_model(document: dict[str, Any], wanted: str, style: Styler) -> list[str]:
    """`--model`: one line per pool that has it, with path, size and downloaded."""
    rows = [["POOL", "ID", "DOWNLOADED", "SIZE", "PATH"]]
    for name in document["pools"]:
        for model in document["models"]:
            cell = model["pools"].get(name)
            if cell is None:
                continue
            rows.append(
                [
                    printable(name),
                    printable(str(model["id"])),
                    "yes" if cell["downloaded"] else "no",
                    _gb(cell["size_gb"]),
                    printable(str(cell["path"])),
                ]
            )
    lines = _table(rows, style) if len(rows) > 1 else []
    if not document["models"]:
        lines.append(f"{printable(wanted)} is on none of the pools that answered")
    for name, summary in document["pools"].items():
        if not summary["ok"]:
            lines.append(
                f"{printable(name)}: {style('unreachable', 'red')} ({summary['kind']}): "
                f"{printable(str(summary['error']))}"
            )
    return lines


def render_fit(document: dict[str, Any], model_id: str, style: Styler) -> list[str]:
    """`--fit`: the verdict per pool."""
    from rbee.fit import gib

    rows = [["POOL", "BACKEND", "GPU BUDGET", "NEEDS", "VERDICT"]]
    for name, summary in document["pools"].items():
        if not summary["ok"]:
            rows.append([printable(name), "?", "?", "?", f"unreachable: {summary['error']}"])
            continue
        fit = summary.get("fit") or {}
        hardware = summary.get("hardware") or {}
        backend = str(hardware.get("backend", "?"))
        if not hardware:
            budget = "?"
        elif hardware.get("gpu_budget_bytes") is None:
            budget = "no GPU"
        else:
            budget = gib(hardware["gpu_budget_bytes"])
        if "error" in fit:
            rows.append([printable(name), backend, budget, "-", printable(str(fit["error"]))])
            continue
        estimate = fit.get("estimate") or {}
        verdict = fit.get("verdict") or {}
        rows.append(
            [
                printable(name),
                backend,
                budget,
                gib(estimate.get("total_bytes")),
                printable(str(verdict.get("message", "?"))),
            ]
        )
    return [f"fit of {printable(model_id)}:", *_table(rows, style)]


def fit_failure(document: dict[str, Any], model_id: str) -> str | None:
    """Why no pool could give a verdict on `model_id` (`--fit`); None when one did."""
    pools = document["pools"]
    answered = [name for name, summary in pools.items() if summary["ok"]]
    if any("verdict" in (pools[name].get("fit") or {}) for name in answered):
        return None
    shown = printable(model_id)
    if not answered:
        return f"no pool could give a verdict on {shown}: none of them answered"
    holders: dict[str, bool] = {}  # pool -> downloaded there
    for row in document["models"]:
        if str(row["id"]).lower() == model_id.lower():
            holders.update({name: cell["downloaded"] for name, cell in row["pools"].items()})
    if not holders:
        return (
            f"no pool could give a verdict on {shown}: it is in no catalog of the pools that "
            f"answered ({', '.join(printable(name) for name in answered)})"
        )
    if not any(holders.values()):
        return (
            f"no pool could give a verdict on {shown}: it is not downloaded on any pool "
            f"(registered on {', '.join(printable(name) for name in holders)})"
        )
    errors = [str((pools[name].get("fit") or {}).get("error", "")) for name in answered]
    why = next((e for e in errors if e), "no estimate")
    return f"no pool could give a verdict on {shown}: {printable(why)}"


def run_fleet(args: argparse.Namespace) -> int:
    pools, runner = _pools(args)
    arguments = report_arguments(args.fit, args.ctx, args.kv_type)
    answers = list(
        in_order(pools, lambda pool: ask_json(runner, pool, arguments), parallelism(args), runner)
    )
    document = fleet_document(pools, answers, args.model)
    failed = any(not summary["ok"] for summary in document["pools"].values())
    status = exitcodes.FAILURE if failed else exitcodes.OK
    if args.model is not None and not document["models"]:
        status = exitcodes.FAILURE
    why_no_fit = fit_failure(document, args.fit) if args.fit else None
    if why_no_fit is not None:
        status = exitcodes.FAILURE
    out = output(args)
    if args.json:
        out.json(document)
    elif args.fit:
        out.lines(render_fit(document, args.fit, out.style))
    elif args.model is not None:
        out.lines(render_model(document, args.model, out.style))
    else:
        out.lines(render_fleet(document, out.style))
    warnings = [
        str(warning)
        for summary in document["pools"].values()
        for warning in (summary.get("fit") or {}).get("warnings") or ()
    ]
    for warning in dict.fromkeys(warnings):  # the same context on every pool: said once
        out.stdout.flush()
        out.hint(f"warning: {printable(warning)}")
    if why_no_fit is not None:
        out.stdout.flush()
        report(why_no_fit)  # the last line on stderr: why the exit code is 1
    return status


# -- llorch pool info ---------------------------------------------------------------------------


def run_pool_info(args: argparse.Namespace) -> int:
    config = load_config(args)
    pools = select_pools(args, config)
    runner = make_runner(args, config)
    arguments = ["--color", "never", "pool", "info", "--json"]
    answers = in_order(
        pools, lambda pool: ask_json(runner, pool, arguments), parallelism(args), runner
    )
    out = output(args)
    status = exitcodes.OK
    if args.json:
        document = {}
        for pool, answer in zip(pools, answers, strict=True):
            document[pool.name] = answer
            status = status if answer["ok"] else exitcodes.FAILURE
        out.json(document)
        return status
    from rbee.cli.pool_info import info_lines
    from rbee.hardware import PoolInfo

    style = out.style
    for index, (pool, answer) in enumerate(zip(pools, answers, strict=True)):
        if not answer["ok"]:
            status = exitcodes.FAILURE
            report(f"{pool.name}: {answer['error']}")
            continue
        try:
            info = PoolInfo.from_dict(answer)
        except (KeyError, TypeError) as exc:
            status = exitcodes.FAILURE
            report(f"{pool.name}: rbee-hive's `pool info` answer lacks {exc}")
            continue
        header = ("\n" if index else "") + style(f"==> {pool.name} <==", "bold")
        out.lines([header, *info_lines(info)])
        out.stdout.flush()
    return status
