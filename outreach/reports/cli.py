"""`flask outreach reports ...` and `flask outreach scheduler` (filled by the reports slice)."""

from __future__ import annotations

from flask.cli import AppGroup


def register_report_commands(group: AppGroup) -> None:
    """Attach the reports commands to the `outreach` group."""
