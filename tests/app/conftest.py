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
