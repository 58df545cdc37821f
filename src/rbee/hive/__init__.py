"""`rbee-hive`: the pool-side command line of rbee (`rbee.hive.cli:main`).

`rbee.hive.arguments` holds every option as functions that add them to an argparse parser;
`rbee.hive.commands.<name>` holds each `models` subcommand's `run(args, hive) -> int`.
"""
