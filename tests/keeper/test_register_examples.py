"""The register example a new user sees first works anywhere: `--test-models`, not a file of
the repository (`examples/test-models.toml` exists only in a checkout)."""

from __future__ import annotations

from rbee.hive.helpdoc import help_text


def test_llorch_leads_with_the_test_models() -> None:
    top = help_text([], "llorch").split("\nexamples:\n")[1]
    assert "examples/" not in top
    register_lines = [line for line in top.splitlines() if " register " in line]
    assert register_lines[0].strip() == "llorch pool models register --all --test-models"
    text = help_text(["pool", "models", "register"], "llorch").split("\nexamples:\n")[1]
    lines = text.splitlines()
    assert lines[0].strip() == "llorch pool models register --host mac.home.arpa --test-models"
    assert "examples/" not in text
    assert any("--from models.toml    # your own list" in line for line in lines)
