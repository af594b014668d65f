"""The sync line at the top of every screen tells the truth about the outbox, whatever
order the phone's own reads finish in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.pwa.test_pwa import SYNCED, add_client, cut_network, sign_in, status

pytestmark = pytest.mark.browser

# The next read of the outbox takes the outbox as it is, then waits until the test lets
# it go: on a slow phone a status update started before a save can end after the save's.
HOLD_NEXT_OUTBOX_READ = """() => {
  const db = self.Outreach.db;
  const read = db.outbox;
  db.outbox = async (...args) => {
    db.outbox = read;
    const box = await read.apply(db, args);
    await new Promise((resolve) => { window.__releaseOutboxRead = resolve; });
    return box;
  };
}"""


def test_an_older_status_update_never_overwrites_a_newer_one(context, page, world):
    """Before, a status update that read the empty outbox before a save and finished after
    the save's own update drew "All changes synced" over "1 waiting to sync"."""
    sign_in(page)
    expect(status(page)).to_have_text(SYNCED)
    cut_network(context)
    page.evaluate(HOLD_NEXT_OUTBOX_READ)
    page.evaluate("() => window.dispatchEvent(new Event('offline'))")  # starts a status update
    page.wait_for_function("() => typeof window.__releaseOutboxRead === 'function'")
    add_client(page, "OS", "1980-01-02", "male", "DH1")
    expect(status(page)).to_have_text("1 waiting to sync")
    page.evaluate("() => window.__releaseOutboxRead()")
    # The held update has ended once its own read is released; nothing else is running.
    page.wait_for_function("() => self.Outreach.db.outboxCount().then((n) => n === 1)")
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")
    expect(status(page)).to_have_text("1 waiting to sync")
    expect(status(page)).not_to_have_text(SYNCED)
