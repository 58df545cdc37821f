"""`rbee.workflows`: the model lifecycle around the catalog, one documented function per workflow.

Each workflow (register, update, unregister, scan, download, record, verify, adopt, copy; and
fit, which only reads) holds every rule of its job, writes the catalog in one `edit_catalog`
transaction, reports progress through a `rbee.workflows.progress.Progress` and never prints: the
CLIs parse, call one function, render. `rbee.workflows.files.fill_from_files` is the rule they
share for filling a new entry in from its files. Examples: docs/library.md.
"""
