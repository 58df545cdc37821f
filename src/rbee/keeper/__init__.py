"""`llorch` (also `rbee-keeper`): the orchestrator's CLI, reaching each pool's rbee-hive by ssh.

- `rbee.keeper.config`: `pools.toml`.
- `rbee.keeper.ssh`: the ssh transport, remote quoting and error classification.
- `rbee.keeper.commands`: `pool list`, `pool check` and `pool models ...`.
"""
