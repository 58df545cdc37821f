"""Make catalog entries true to the model files on disk.

    from rbee.workflows.scan import scan_models

    report = scan_models(".test-models/catalog.json", root=".", dry_run=True)
    for result in report.results:
        print(result.model_id, [change.field for change in result.changes])

For each entry (all of them, or `ids`), its files are read (`rbee.modelfiles.scan_entry`) and
compared: `downloaded`, `size_gb`, `format` and the metadata the headers reveal are changes;
what the user owns (`name`, `architecture`, `backends`) is never changed: the architecture
and backends are reported as a disagreement where the files contradict them, the display name
never is. The rules:

- Every id is looked up first: an unknown id is `ModelNotFoundError` and nothing is read.
- The files are read **without** the catalog's lock: reading a large or hostile model can take
  a second, and other writers must not wait for it.
- Then, in one `edit_catalog` transaction, each change is applied to the entry as the catalog
  holds it **now**, unless that entry was edited or removed meanwhile: it is then left alone,
  its changes dropped and `problem` says why (scan it again). The catalog is written only if
  something changed.
- `dry_run`: the catalog is only read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rbee.workflows.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from rbee.catalog import ModelEntry
    from rbee.modelfiles import ScanResult

EDITED_MEANWHILE = "edited meanwhile, while its files were read: left as it is now (scan it again)"
REMOVED_MEANWHILE = "removed from the catalog meanwhile, while its files were read"


@dataclass
class ScanReport:
    """One `ScanResult` per entry scanned, in catalog (or `ids`) order."""

    results: list[ScanResult] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> list[str]:
        """The ids whose entries changed (or, in a dry run, would change)."""
        return [result.model_id for result in self.results if result.changes]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `rbee-hive models scan --json` prints."""
        return {
            "dry_run": self.dry_run,
            "changed": self.changed,
            "models": [result.to_dict() for result in self.results],
        }


def scan_models(
    catalog_path: str | os.PathLike[str],
    root: str | os.PathLike[str] = ".",
    ids: Iterable[str] = (),
    *,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
) -> ScanReport:
    """Scan the entries `ids` (default: all) against their files; apply the changes unless
    `dry_run`. See the module's docstring for the rules."""
    from rbee.catalog import load_catalog
    from rbee.modelfiles import scan_entry

    catalog = load_catalog(catalog_path, track_changes=False)
    # Every id is looked up before anything is read or changed: an unknown id changes nothing.
    wanted = list(dict.fromkeys(ids))
    entries = [catalog.get_model(model_id) for model_id in wanted] or list(catalog.models)
    progress.begin("scan", 0, len(entries))
    try:
        results = []
        for entry in entries:
            progress.file_started(entry.id, 0)
            result = scan_entry(entry, root)
            results.append(result)
            progress.file_done(entry.id, 0, "changed" if result.changes else "unchanged")
    finally:
        progress.end()
    report = ScanReport(results, dry_run)
    if not dry_run and report.changed:
        apply_scan_results(catalog_path, entries, results)
    return report


def apply_scan_results(
    catalog_path: str | os.PathLike[str],
    scanned: list[ModelEntry],
    results: list[ScanResult],
) -> None:
    """Under the lock, apply each result to its entry as the catalog holds it now.

    `scanned[i]` is the entry `results[i]` was computed from; an entry that differs from it now
    (or is gone) keeps its current values, and its result is marked (see the module's rules).
    """
    from rbee.catalog import edit_catalog
    from rbee.modelfiles import apply_scan

    with edit_catalog(catalog_path) as catalog:
        current_by_id = catalog.models_by_id()
        for entry, result in zip(scanned, results, strict=True):
            if not result.changes:
                continue
            current = current_by_id.get(entry.id)
            if current is None or current != entry:
                # What the files were compared with is gone: neither the changes nor the
                # disagreements hold for the entry as it is now.
                result.changes = []
                result.disagreements = []
                result.problem = REMOVED_MEANWHILE if current is None else EDITED_MEANWHILE
                continue
            apply_scan(current, result)
            catalog.touch()


__all__ = [
    "EDITED_MEANWHILE",
    "REMOVED_MEANWHILE",
    "ScanReport",
    "apply_scan_results",
    "scan_models",
]
