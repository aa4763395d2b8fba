"""Placeholder: this command family is being written."""


def register(subparsers, common) -> None:
    """Add this family's sub-commands."""
