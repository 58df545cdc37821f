"""One module per `rbee-hive models` subcommand, each with `run(args, hive) -> int`.

A command module imports what it needs inside `run`, so that `--help` and the other commands do
not pay for it. Results go through `hive.out` (human text or `--json`); failures are raised as
`rbee.catalog.CatalogError`, `rbee.cli.errors.CommandError` (exit 1) or `UsageError` (exit 2),
and `rbee.cli.errors.run` turns them into one `error: ...` line.
"""
