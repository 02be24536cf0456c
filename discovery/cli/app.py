"""``eqdisco app``: the Streamlit app's server, in place of this process (POSIX) or as a child process."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from discovery.cli.common import EXIT_OK, CLIError


def cmd_app(args: argparse.Namespace) -> int:
    import importlib.util
    import subprocess

    if importlib.util.find_spec("streamlit") is None:
        raise ImportError("the app needs Streamlit; install it with pip install 'eqdisco[app]'")
    entry = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
    if not entry.exists():
        raise CLIError(f"the app's entry file is missing: {entry}")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(entry),
        "--server.port", str(args.port), "--server.address", args.host,
        "--server.headless", "true" if args.headless else "false",
        "--browser.gatherUsageStats", "false",
    ]
    print(f"eqdisco app on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    if os.name == "posix":  # the server takes this process's place: SIGTERM and SIGINT reach it, nothing orphaned
        # Streamlit takes SIGINT once its server listens, even where it was ignored (a shell's `eqdisco app &`);
        # take it from the start, or a SIGINT between the port opening and Streamlit's handler is lost
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sys.stdout.flush()
        os.execv(sys.executable, cmd)
    try:  # elsewhere Ctrl-C reaches the console's whole process group, the server included
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``app``."""
    p = sub.add_parser("app", help="start the Streamlit app")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_app)
