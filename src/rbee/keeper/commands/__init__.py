"""The `llorch pool ...` commands; each module is imported only when its command runs."""
