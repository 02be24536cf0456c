"""The ``eqdisco`` command line: one module per group of sub-commands.

Every user-facing failure is one line on stderr (``eqdisco COMMAND: error: ...``) and a non-zero exit code, never
a traceback. Heavy modules are imported inside the sub-command that needs them, so ``eqdisco --help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from discovery import __version__
from discovery.cli import app, data, discover, tools
from discovery.cli.common import EXIT_FAILED, EXIT_USAGE, CLIError, Parser, user_errors
from discovery.errors import one_line

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``eqdisco`` parser with every sub-command registered."""
    parser = Parser(
        prog="eqdisco",
        description="Discover the differential equations behind measured trajectories.",
        epilog="Run 'eqdisco COMMAND --help' for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"eqdisco {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    discover.add_parsers(sub)
    data.add_parsers(sub)
    app.add_parsers(sub)
    tools.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``eqdisco`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and argv[1:2] not in (["-h"], ["--help"]):
        # 'eqdisco bench [TARGET] OPTIONS...': the options belong to the target's own parser
        has_target = argv[1:2] != [] and argv[1] in tools.BENCH_TARGETS
        target = argv[1] if has_target else "discovery"
        args = argparse.Namespace(command="bench", target=target, rest=argv[2 if has_target else 1 :],
                                  func=tools.cmd_bench)
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CLIError as exc:
        print(f"eqdisco {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"eqdisco {args.command}: interrupted", file=sys.stderr)
        return 130
    except user_errors() as exc:
        print(f"eqdisco {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
