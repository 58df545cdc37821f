"""Named exit codes, the same for `rbee-hive` and `llorch` (documented in the README).

A closed output pipe (`| head -1`) has no code of its own: the rest of the output is dropped and
the command ends with the code it would have had anyway (see `rbee.cli.streams`), so the code
never depends on how fast the reader quit.
"""

OK = 0
FAILURE = 1
"""An operational error: not found, exists, invalid input, unreadable catalog, I/O, ssh."""
USAGE = 2
"""The command line itself is wrong (argparse's own code)."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""
