"""End to end: the real Streamlit server driven by Debian's headless Chromium through Playwright.

A bad file shows one clear message; then ``examples/lotka_volterra.csv`` is uploaded, discovery runs with
``sindy``, the equations appear, and a screenshot is saved (to pytest's tmp folder and, when
``EQDISCO_SCREENSHOT_DIR`` is set, there too). Chromium is installed with ``tests/app/install_browser.sh``
(``apt-get install chromium``, as root) when ``/usr/bin/chromium`` is missing; the test skips, saying why, only
when that fails. It never runs ``playwright install``. Server and browser fixtures: ``tests/app/conftest.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RUN_LIMIT_S = 120

OVERLAY_X_END = (
    "() => { const p = [...document.querySelectorAll('.js-plotly-plot')]"
    ".find(d => d.textContent.includes('extrapolation'));"
    " return p && p._fullLayout ? p._fullLayout.xaxis.range[1] : null; }"
)
"""The right end of the overlay chart's time axis, read from plotly's own state in the page."""


def test_upload_run_and_see_equations(app_page, screenshot, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = app_page
    csv_file = ROOT / "examples" / "lotka_volterra.csv"
    assert csv_file.is_file(), f"the bundled example {csv_file} is missing"

    bad = tmp_path / "bad.csv"
    bad.write_text("t,x,y\n0,1,2\n0.1,oops,2\n0.2,1,2\n")
    page.locator("input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("This file cannot be used")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("bad.csv, row 3, column 'x'", exact=False)).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
    screenshot(page, "eqdisco_app_bad_file.png")

    started = time.monotonic()
    page.locator("input[type=file]").set_input_files(str(csv_file))
    expect(page.get_by_text("Time points")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("This file cannot be used")).to_have_count(0)
    run = page.get_by_role("button", name="Discover equations")
    expect(run).to_be_enabled(timeout=30_000)
    run.click()
    code = page.locator("[data-testid='stCode']").filter(has_text="dx/dt =")
    expect(code.first).to_be_visible(timeout=RUN_LIMIT_S * 1000)
    elapsed = time.monotonic() - started
    text = code.first.inner_text()
    assert "dx/dt =" in text and "dy/dt =" in text, text
    expect(page.locator(".katex").first).to_be_visible()
    for label in ("Result (JSON)", "Simulated trajectories (CSV)", "Right-hand side (Python)", "Equations (LaTeX)",
                  "Figure (PNG)"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    with page.expect_download(timeout=60_000) as download:  # the figure is built on click
        page.get_by_role("button", name="Figure (PNG)").click()
    figure = tmp_path / download.value.suggested_filename
    download.value.save_as(figure)
    assert figure.suffix == ".png" and figure.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    shot = screenshot(page, "eqdisco_app_results.png")
    assert shot.stat().st_size > 10_000

    # a widget change after the run redraws from the cache (printed, not asserted: tests never time)
    before = page.evaluate(OVERLAY_X_END)
    assert before is not None, "the overlay chart is missing"
    slider = page.locator("[data-testid='stSlider']").filter(has_text="Extrapolate").get_by_role("slider")
    slider.focus()
    tick = time.monotonic()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => ({OVERLAY_X_END})() > {before} + 1e-9", timeout=30_000, polling=20)
    redraw = time.monotonic() - tick
    expect(code.first).to_be_visible()
    print(f"upload to equations on screen: {elapsed:.1f} s; horizon change redrawn in {redraw:.2f} s; {shot}")
