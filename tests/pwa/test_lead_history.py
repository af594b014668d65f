"""A client's history in the team lead's review reads the list shape `{client, items,
meta}`: older events load a page at a time, and a copy an earlier app stored offline
(its events under `events`) still shows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_clients, make_interventions
from tests.pwa.test_lead import signed_in
from tests.pwa.test_pwa import cut_network, unlock, wait_for_service_worker

pytestmark = pytest.mark.browser

PER_PAGE = 50  # static/js/views/lead-client.js
OLD_COPY = """(name) => self.Outreach.db.getMeta(name).then((kept) => {
  const { items, ...rest } = kept.data;
  return self.Outreach.db.setMeta({ [name]: { ...kept, data: { ...rest, events: items } } });
})"""


def _client_with_contacts(app, world, contacts: int) -> str:
    team, area, worker = (
        world.team_ids["street"],
        world.area_ids["durham"],
        world.user_ids["worker"],
    )
    with app.app_context():
        (client,) = make_clients(team, area, 1, key_worker_id=worker)
        make_interventions(team, area, worker, contacts, client_ids=[client["id"]])
    return str(client["id"])


def test_older_events_load_a_page_at_a_time(app, page, world, login):
    client_id = _client_with_contacts(app, world, PER_PAGE + 4)
    history = login("lead").get(f"/api/v1/clients/{client_id}/history").get_json()
    total = history["meta"]["total"]
    assert total > PER_PAGE

    signed_in(page, "lead")
    page.goto(f"/#/team/client/{client_id}")
    events = page.locator("#history > li")
    expect(events).to_have_count(PER_PAGE)
    more = page.get_by_role("button", name="Load older events")
    more.click()
    expect(events).to_have_count(total)
    expect(more).to_be_hidden()


def test_a_history_an_earlier_app_stored_still_shows_offline(app, context, page, world):
    client_id = _client_with_contacts(app, world, 3)
    signed_in(page, "lead")
    wait_for_service_worker(page)
    page.goto(f"/#/team/client/{client_id}")
    events = page.locator("#history > li")
    expect(events.filter(has_text="Harm-reduction advice")).to_have_count(3)
    page.evaluate(OLD_COPY, f"lead:history:{client_id}")

    cut_network(context)
    page.reload()
    unlock(page)
    expect(page.get_by_text(re.compile("^Offline — showing this history from"))).to_be_visible()
    expect(events.filter(has_text="Harm-reduction advice")).to_have_count(3)
