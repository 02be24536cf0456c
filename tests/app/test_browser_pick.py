"""End to end: pick a candidate by clicking its point on the Pareto chart (plotly selection events).

The bundled Lorenz example gives several ``sindy`` candidates; clicking the most complex one's point must change
the picked candidate, its equations and the overlay. Fixtures (server, Chromium, screenshots): conftest.py.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

RUN_LIMIT_S = 120


def test_click_a_point_on_the_pareto_chart_picks_that_candidate(app_page, screenshot) -> None:
    from playwright.sync_api import expect

    page = app_page
    page.get_by_text("Bundled example", exact=True).click()
    page.locator("[data-testid='stSelectbox']").filter(has_text="Example").click()
    page.get_by_role("option", name="Lorenz").click()
    expect(page.get_by_text("lorenz.csv: 3 variables")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Discover equations").click()
    expect(page.locator("[data-testid='stCode']").filter(has_text="dz/dt =").first).to_be_visible(
        timeout=RUN_LIMIT_S * 1000)

    picked = page.locator("[data-testid='stSelectbox']").filter(has_text="Picked candidate").locator("input")
    expect(picked).to_have_value(re.compile(r"^#1 "))
    pareto = page.locator(".js-plotly-plot").filter(has_text="complexity (expression nodes)")
    points = pareto.locator(".scatterlayer .trace").first.locator("path.point")
    assert points.count() > 1, "the Lorenz example should give several candidates"
    boxes = [points.nth(i).bounding_box() for i in range(points.count())]
    rightmost = max(range(len(boxes)), key=lambda i: boxes[i]["x"])  # the most complex: not the best
    target = points.nth(rightmost)
    target.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = target.bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    page.mouse.click(*centre)
    expect(picked).not_to_have_value(re.compile(r"^#1 "), timeout=30_000)
    expect(page.get_by_text(re.compile(r"candidate #[2-9]\d* \(sindy\)")).first).to_be_attached(timeout=30_000)
    screenshot(page, "eqdisco_app_picked.png")
