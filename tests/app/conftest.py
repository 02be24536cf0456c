"""Fixtures of the app tests: small trajectory files as bytes, and the path of the app's entry file."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "app" / "streamlit_app.py"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def app_entry() -> str:
    """Path of ``app/streamlit_app.py`` as a string."""
    return str(ENTRY)


@pytest.fixture(scope="session")
def lv_csv_bytes() -> bytes:
    """A Lotka–Volterra trajectory (1% noise, 301 points) as CSV bytes, simulated by the discovery layer."""
    import io

    from discovery import simulate

    data = simulate("lotka_volterra", noise=0.01, seed=0)
    frame = data.to_frame().iloc[::2]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


# --- the browser end-to-end tests (test_browser*.py): a real server, Debian's Chromium, Playwright ----------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SERVER_START_S = 90


def _ensure_chromium() -> None:
    """Install Chromium with ``install_browser.sh`` when it is missing; skip, saying why, if that fails."""
    import os
    import subprocess

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


@pytest.fixture()
def app_server(tmp_path: Path):
    """A Streamlit server of the app on a free local port (``python -m streamlit run``); yields its URL."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    log_path = tmp_path / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ENTRY),
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
                pytest.fail("the Streamlit server exited: " + log_path.read_text()[-2000:])
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


@pytest.fixture()
def app_page(app_server: str):
    """A Chromium page (1400 x 1000) with the app loaded; Chromium is installed first when missing."""
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app_server, wait_until="domcontentloaded")
            page.get_by_text("Find the differential equations").wait_for(timeout=60_000)
            yield page
        finally:
            browser.close()


def save_screenshot(page, folder: Path, name: str) -> Path:
    """Screenshot the whole app into ``folder`` (and ``EQDISCO_SCREENSHOT_DIR`` when set); returns the file.

    Streamlit scrolls an inner container, so the viewport is grown to the page's height first.
    """
    import os
    import shutil

    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(1500)  # let the plotly charts redraw at the new size
    shot = folder / name
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    target = os.environ.get("EQDISCO_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / name)
    return shot


@pytest.fixture()
def screenshot(tmp_path: Path):
    """``screenshot(page, name) -> Path``: :func:`save_screenshot` into the test's tmp folder."""
    return lambda page, name: save_screenshot(page, tmp_path, name)
