"""The pathways code lists with their labels, for the PWA (spec.js) and the API."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

from outreach.pathways.models import (
    CLOSE_REASONS,
    DECLINE_REASONS,
    EPISODE_KINDS,
    OUTCOMES,
    REASONS,
    STATUSES,
    URGENCIES,
)
from outreach.pathways.rules import EPISODE_MONTHS


def _list(codes: dict[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "label": label} for code, label in codes.items()]


def pathway_codes() -> dict[str, Any]:
    """Referral reasons, urgencies, statuses, decline and close reasons; episode kinds
    and outcomes; the default length of an episode in months; when a referral waits too
    long and an episode is near its end."""
    return {
        "referral_reasons": _list(REASONS),
        "urgencies": _list(URGENCIES),
        "referral_statuses": _list(STATUSES),
        "decline_reasons": _list(DECLINE_REASONS),
        "close_reasons": _list(CLOSE_REASONS),
        "episode_kinds": _list(EPISODE_KINDS),
        "episode_outcomes": _list(OUTCOMES),
        "episode_months": EPISODE_MONTHS,
        # What leads are warned of (OUTREACH_REFERRAL_WAIT_HOURS, ..._EPISODE_END_WARNING_DAYS).
        "referral_wait_hours": _setting("REFERRAL_WAIT_HOURS", 48),
        "episode_end_warning_days": _setting("EPISODE_END_WARNING_DAYS", 14),
    }


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default
