"""The API reference renders in a real browser from this server alone (vendored ReDoc),
with the bilingual introduction and the operations by their ids."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def offline(page, live_server, outside: list):
    """Everything not served by us is refused, as on a machine with no internet."""
    local = live_server.split("/")[2]

    def route(r):
        if r.request.url.split("/")[2] == local:
            return r.continue_()
        outside.append((r.request.resource_type, r.request.url))
        return r.abort()

    page.route("**/*", route)
    return page


def test_api_reference_renders_offline(page, new_page, live_server):
    outside: list = []
    offline(page, live_server, outside)
    page.goto(live_server + "/api/docs")
    expect(page.get_by_text("认证：").first).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Checks run in this order").first).to_be_visible()
    # ReDoc renders lazily: load the page at the operation and it renders that part.
    page = offline(new_page(), live_server, outside)
    page.goto(live_server + "/api/docs#tag/Auctions/operation/placeBid")
    expect(page.locator("h2", has_text=re.compile(r"^placeBid$"))).to_be_visible(timeout=20_000)
    # Open every rendered operation's 409 panel: placeBid's lists the contract's codes.
    for button in page.locator("button", has_text=re.compile(r"^\s*409\s*$")).all():
        button.click()
    expect(page.get_by_text("bid_too_low").first).to_be_visible()
    # ReDoc's own "powered by" logo is the only thing it asks the internet for.
    assert all(kind == "image" for kind, _ in outside), outside
