"""A terminal that reports 0 columns (a serial console, some CI runners) gets the 80-column
layout, not empty rules (issue 8 §2)."""

from __future__ import annotations

import re

from rbee.cli.table import cell_width

from .conftest import HIVE, HiveRunner
from .test_terminal import _run_in_terminal


def test_zero_columns_is_the_80_column_layout(seeded: HiveRunner) -> None:
    long_name = "A Model Whose Name Is Far Too Long For An Eighty Column Terminal Window Really"
    registered = seeded.run("models", "register", "long", "--name", long_name, "--arch", "llama")
    assert registered.code == 0, registered.err
    code, zero = _run_in_terminal([str(HIVE), "models", "catalog"], seeded.pool, 0)
    assert code == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", zero).splitlines()
    assert lines[1] == lines[3].replace("-", "=") == lines[-2] == "=" * 80
    row = next(line for line in lines if line.startswith("long "))
    assert "…" in row  # cut to 80 columns
    assert row.endswith("❌           0.0 GB")
    assert max(cell_width(line) for line in lines) == 80
    _, eighty = _run_in_terminal([str(HIVE), "models", "catalog"], seeded.pool, 80)
    assert zero == eighty
