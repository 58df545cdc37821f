"""How `rbee-hive` shows catalogs and entries to a person (the seed's table and more).

The table is the seed's (WU2.3/WU2.4): a title, `=` rules 80 wide, columns ID (15), Name (30),
Downloaded (12) and Size, `Total models: N`. Columns are counted in terminal cells, so ✅ and ❌
(two cells each) line up; a longer id or name widens its column instead of being cut, except
that on a terminal too narrow for it the Name column is shortened with `…` (and a terminal
narrower than 80 columns gets shorter rules and names rather than wrapped lines). Lines carry no
trailing spaces, and there are no blank lines around the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from rbee.cli.style import Styler, printable
from rbee.cli.table import cell_width, format_row, truncate

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from rbee.catalog import ModelEntry

RULE_WIDTH = 80
COLUMNS = ("ID", "Name", "Downloaded", "Size")
MIN_WIDTHS = (15, 30, 12, 10)
NARROWEST_NAME = 8
"""On a narrow terminal, names are cut to no fewer cells than this (then lines wrap)."""
DOWNLOADED = "✅"
NOT_DOWNLOADED = "❌"


def format_size(size_gb: float) -> str:
    return f"{size_gb:.1f} GB"


def catalog_table(
    pool_id: str,
    entries: Sequence[ModelEntry],
    style: Styler,
    terminal_width: int | None = None,
) -> list[str]:
    """The seed's catalog table as lines; `terminal_width` None means "never cut"."""
    # Escaped before measuring: `\u202e` takes six cells on the terminal, not none.
    rows = [
        (
            printable(entry.id),
            printable(entry.name),
            DOWNLOADED if entry.downloaded else NOT_DOWNLOADED,
            format_size(entry.size_gb),
        )
        for entry in entries
    ]
    widths = [
        max([minimum, *(cell_width(row[column]) for row in rows)])
        for column, minimum in enumerate(MIN_WIDTHS)
    ]
    # The last column is not padded: a line ends with its size.
    size_width = max([len(COLUMNS[3]), *(len(row[3]) for row in rows)])
    if terminal_width is not None:
        # Fit the terminal instead of wrapping: the Name column gives way (down to a few cells)
        # and, on a terminal narrower than the seed's 80 columns, so do the rules.
        overflow = sum(widths[:3]) + 3 + size_width - terminal_width
        if overflow > 0:
            widths[1] = max(NARROWEST_NAME, widths[1] - overflow)
            rows = [(r[0], truncate(r[1], widths[1]), r[2], r[3]) for r in rows]
    rule_width = max(RULE_WIDTH, sum(widths[:3]) + 3 + size_width)
    if terminal_width is not None:
        rule_width = min(rule_width, terminal_width)

    def color_status(column: int, text: str) -> str:
        if column != 2:
            return text
        return style(text, "green" if text == DOWNLOADED else "red")

    lines = [
        style(f"Model Catalog for {printable(pool_id)}", "bold"),
        "=" * rule_width,
        format_row(COLUMNS, widths, lambda _column, text: style(text, "bold")),
        "-" * rule_width,
    ]
    lines.extend(format_row(row, widths, color_status) for row in rows)
    lines.append("=" * rule_width)
    lines.append(f"Total models: {len(rows)}")
    return lines


def entry_lines(entry: ModelEntry, style: Styler) -> list[str]:
    """Every field of one entry, one per line, labels aligned."""
    from rbee.hive.entry_options import FIELD_LABELS as LABELS  # the one option table's labels

    metadata = entry.metadata if isinstance(entry.metadata, dict) else {}
    fields: list[tuple[str, str]] = [
        (LABELS["id"], printable(entry.id)),
        (LABELS["name"], printable(entry.name)),
        (LABELS["path"], printable(entry.path)),
        (LABELS["format"], printable(entry.format)),
        (LABELS["size_gb"], format_size(entry.size_gb)),
        (LABELS["architecture"], printable(entry.architecture)),
        (
            LABELS["downloaded"],
            style(DOWNLOADED, "green") + " yes"
            if entry.downloaded
            else style(NOT_DOWNLOADED, "red") + " no",
        ),
        (LABELS["backends"], printable(", ".join(entry.backends))),
    ]
    labels = {
        name.removeprefix("metadata."): label
        for name, label in LABELS.items()
        if name.startswith("metadata.")
    }
    for key, label in labels.items():
        if key in metadata:
            value = metadata[key]
            if key == "parameters" and isinstance(value, int) and not isinstance(value, bool):
                from rbee.hive.model_files import format_count

                fields.append((label, format_count(value)))  # as `inspect` shows it
            else:
                fields.append((label, _plain(value)))
    fields.extend(
        (f"metadata.{printable(key)}", _plain(value))
        for key, value in metadata.items()
        if key not in labels
    )
    fields.extend((printable(key), _plain(value)) for key, value in entry.extra.items())
    record = getattr(entry, "record", None)
    if isinstance(record, dict):
        fields.extend(record_fields(record))
    width = max(len(label) for label, _ in fields)
    return [style(label.ljust(width), "bold") + "  " + value for label, value in fields]


def record_fields(record: dict[str, object]) -> list[tuple[str, str]]:
    """A file record (format 1.1) as labelled lines: source, time, then one line per file."""
    source = record.get("source")
    source = source if isinstance(source, dict) else {}
    kind = str(source.get("type", "?"))
    described = kind
    if "repo" in source:
        described += f" {source['repo']}"
        if "revision" in source:
            described += f"@{source['revision']}"
    if isinstance(source.get("commit"), str):
        described += f" (commit {str(source['commit'])[:12]})"
    if "pool" in source:
        described += f" from pool {source['pool']}"
    shown = {"type", "repo", "revision", "commit", "pool"}
    described += "".join(
        f", {key}: {_plain(value)}" for key, value in source.items() if key not in shown
    )
    fields = [("Source", printable(described)), ("Recorded", _plain(record.get("recorded_at")))]
    files = record.get("files")
    if isinstance(files, list):
        total = sum(f.get("size", 0) for f in files if isinstance(f, dict))
        fields.append(("Files", f"{len(files)}, {total / 1e9:.2f} GB"))
        for item in files:
            if isinstance(item, dict):
                fields.append(
                    (
                        "  file",
                        f"{printable(str(item.get('path')))}  {item.get('size')} bytes  "
                        f"sha256 {str(item.get('sha256'))[:16]}…",
                    )
                )
    return fields


def _plain(value: object) -> str:
    if isinstance(value, str):
        return printable(value)
    import json

    # json.dumps escapes C0 controls but, with ensure_ascii off, passes C1 and bidi ones.
    return printable(json.dumps(value, ensure_ascii=False))
