"""The match key: an HMAC of a client's normalised attributors (DESIGN §3).

Two phones that record the same person offline produce the same key, so the
server can link the records as probable duplicates without storing more about
the person. The key is keyed by a server secret, so it cannot be reversed by
trying every date of birth.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from flask import current_app

_NON_LETTERS = re.compile(r"[^A-Z]")


def normalise_initials(initials: str) -> str:
    return _NON_LETTERS.sub("", initials.upper())


def match_key(initials: str, date_of_birth: date, sex: str, secret: str | None = None) -> str:
    key = (secret or current_app.config["MATCH_KEY_SECRET"]).encode()
    message = f"{normalise_initials(initials)}|{date_of_birth.isoformat()}|{sex}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def compute_match_key(
    initials: str | None, date_of_birth: date | None, sex: str | None
) -> str | None:
    """The match key of a client's attributors (None while any is missing)."""
    if not initials or date_of_birth is None or not sex:
        return None
    return match_key(initials, date_of_birth, sex)
