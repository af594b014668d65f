"""Fixtures of the sync tests (builders are in tests/sync/helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def worker(login):
    return login("worker")


@pytest.fixture
def worker2(login):
    return login("worker2")
