"""End to end: the real Streamlit server driven by Debian's headless Chromium through Playwright.

Uploads a Lotka–Volterra CSV, runs discovery with ``sindy``, waits for the equations, and saves a screenshot
(to pytest's tmp folder and, when ``EQDISCO_SCREENSHOT_DIR`` is set, there too). Chromium is installed with
``tests/app/install_browser.sh`` (``apt-get install chromium``, as root) when ``/usr/bin/chromium`` is missing;
the test skips, saying why, only when that fails. It never runs ``playwright install``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SERVER_START_S = 90
RUN_LIMIT_S = 120


def _ensure_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    script = ROOT / "tests" / "app" / "install_browser.sh"
    try:
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"Chromium is missing at {CHROMIUM} and installing it failed: {exc}")
    if proc.returncode != 0 or not os.path.exists(CHROMIUM):
        last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"Chromium is missing at {CHROMIUM} and apt-get could not install it: {last}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path):
    """A Streamlit server of the app on a free local port; yields its URL, stops it afterwards."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=str(tmp_path), env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    try:
        while True:
            if proc.poll() is not None:
                log.flush()
                pytest.fail("the Streamlit server exited: " + (tmp_path / "server.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the Streamlit server did not answer on {url} within {SERVER_START_S} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _save(page, tmp_path: Path, name: str) -> Path:
    """Screenshot the whole app: Streamlit scrolls an inner container, so grow the viewport to its height."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(1500)  # let the plotly charts redraw at the new size
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    target = os.environ.get("EQDISCO_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / name)
    return shot


def test_upload_run_and_see_equations(server: str, tmp_path: Path) -> None:
    _ensure_chromium()
    from playwright.sync_api import expect, sync_playwright

    csv_file = ROOT / "examples" / "lotka_volterra.csv"
    assert csv_file.is_file(), f"the bundled example {csv_file} is missing"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server, wait_until="domcontentloaded")
            page.get_by_text("Find the differential equations").wait_for(timeout=60_000)

            bad = tmp_path / "bad.csv"
            bad.write_text("t,x,y\n0,1,2\n0.1,oops,2\n0.2,1,2\n")
            page.locator("input[type=file]").set_input_files(str(bad))
            alert = page.get_by_text("This file cannot be used")
            expect(alert).to_be_visible(timeout=60_000)
            expect(page.get_by_text("bad.csv, row 3, column 'x'", exact=False)).to_be_visible()
            expect(page.get_by_text("Traceback")).to_have_count(0)
            _save(page, tmp_path, "eqdisco_app_bad_file.png")
            page.set_viewport_size({"width": 1400, "height": 1000})

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
            expect(page.get_by_role("button", name="Result (JSON)")).to_be_visible()
            shot = _save(page, tmp_path, "eqdisco_app_results.png")
            assert shot.stat().st_size > 10_000

            # a widget change after the run redraws from the cache (printed, not asserted: tests never time)
            slider = page.get_by_role("slider").first
            slider.focus()
            tick = time.monotonic()
            page.keyboard.press("ArrowRight")
            expect(slider).to_have_attribute("aria-valuenow", "60", timeout=30_000)
            expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=30_000)
            redraw = time.monotonic() - tick
            expect(code.first).to_be_visible()
            print(f"upload to equations on screen: {elapsed:.1f} s; horizon change redrawn in {redraw:.2f} s; "
                  f"screenshot {shot}")
        finally:
            browser.close()
