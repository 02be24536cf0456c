"""Errors raised by the expression grammar."""

from __future__ import annotations


class GrammarError(ValueError):
    """An expression, token sequence or formula lies outside eqdisco's grammar.

    The message names the offending operator, token or position, so that the caller can act on it.
    """
