"""Placeholder: this command family is being written."""


def register(subparsers, common) -> None:
    """Add this family's sub-commands."""


def run_tui(args) -> int:
    """Open the TUI (being written)."""
    raise SystemExit("the TUI is not written yet")
