"""What the two command-line programs share: exit codes, colour rules and error reporting.

Nothing here knows a file format; the libraries (`rbee.catalog`, `rbee.modelfiles`) know nothing
about terminals.
"""
