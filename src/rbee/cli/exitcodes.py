"""Named exit codes, the same for `rbee-hive` and `llorch` (documented in the README)."""

OK = 0
FAILURE = 1
"""An operational error: not found, exists, invalid input, unreadable catalog, I/O, ssh."""
USAGE = 2
"""The command line itself is wrong (argparse's own code)."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""
