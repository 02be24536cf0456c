"""Token ids for expression systems, on Hugging Face ``tokenizers``.

The vocabulary is derived, never listed: special tokens, then the operator tokens of
:data:`grammar.operators.OPERATORS`, then the canonical variables ``x_0 .. x_{n_vars-1}``, then the number tokens
of :mod:`grammar.numbers` for the tokenizer's precision. A :class:`ExpressionTokenizer` wraps a ``WordLevel``
model with a whitespace-split pre-tokenizer over space-joined prefix tokens, so that
:meth:`ExpressionTokenizer.to_transformers` hands the very same vocabulary to ``transformers``.

Models only see canonical variable names: :func:`canonicalize` renames a user's variables to ``x_0, x_1, ...``
and :func:`decanonicalize` renames them back.
"""

from __future__ import annotations

import json
import operator
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sympy
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from tokenizers.processors import TemplateProcessing

from grammar.errors import GrammarError
from grammar.numbers import (
    DEFAULT_PRECISION,
    MAX_EXPONENT,
    SIGN_TOKENS,
    SMALL_INT_MAX,
    check_precision,
    is_exponent_token,
    is_mantissa_token,
    number_tokens,
)
from grammar.operators import OPERATORS
from grammar.prefix import SEP_TOKEN, _parse_system, is_symbol_token, system_to_prefix

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

MAX_VARS = 5
"""Most state variables a model handles."""

VOCAB_VARS = 10
"""Canonical variables in the default vocabulary (``x_0 .. x_9``), more than :data:`MAX_VARS` on purpose."""

PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, SEP_TOKEN, UNK_TOKEN)
"""Special tokens, in id order (``<pad>`` is 0)."""

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "eqdisco_tokenizer.json"
_FORMAT_VERSION = 1
_CANONICAL_RE = re.compile(r"x_(0|[1-9][0-9]*)")


# --- canonical variables ------------------------------------------------------------------------------------------


def canonical_name(index: int) -> str:
    """The canonical name of state variable ``index`` (``canonical_name(2) == "x_2"``)."""
    return f"x_{int(index)}"


def canonical_symbols(n: int) -> list[sympy.Symbol]:
    """Symbols ``x_0 .. x_{n-1}``.

    Examples
    --------
    >>> canonical_symbols(3)
    [x_0, x_1, x_2]
    """
    return [sympy.Symbol(canonical_name(i)) for i in range(n)]


def canonicalize(exprs_by_var: Mapping[str, sympy.Expr]) -> tuple[list[sympy.Expr], dict[str, str]]:
    """Rename a system's variables to ``x_0, x_1, ...`` in the mapping's order.

    Parameters
    ----------
    exprs_by_var:
        Right-hand side of ``d v/dt`` for each state variable name ``v``; symbols are matched by name.

    Returns
    -------
    exprs, mapping:
        The expressions in canonical symbols (in the mapping's order) and ``{user name: canonical name}``.

    Raises
    ------
    GrammarError
        When an expression uses a symbol that is not a state variable, or there are more variables than the
        vocabulary holds.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> canonicalize({"x": y, "y": -x})
    ([x_1, -x_0], {'x': 'x_0', 'y': 'x_1'})
    """
    names = list(exprs_by_var)
    if not names:
        raise GrammarError("expected at least one state variable, found none")
    if len(names) > VOCAB_VARS:
        raise GrammarError(f"expected at most {VOCAB_VARS} state variables, found {len(names)}: {', '.join(names)}")
    mapping = {name: canonical_name(i) for i, name in enumerate(names)}
    exprs = []
    for name, expr in exprs_by_var.items():
        expr = sympy.sympify(expr, strict=True)
        unknown = sorted(s.name for s in expr.free_symbols if s.name not in mapping)
        if unknown:
            raise GrammarError(
                f"the equation for {name!r} uses {', '.join(map(repr, unknown))}, which is not a state variable; "
                f"state variables: {', '.join(names)} (substitute parameters by numbers first)"
            )
        exprs.append(expr.xreplace({s: sympy.Symbol(mapping[s.name]) for s in expr.free_symbols}))
    return exprs, mapping


def decanonicalize(exprs: Sequence[sympy.Expr], mapping: Mapping[str, str]) -> dict[str, sympy.Expr]:
    """Inverse of :func:`canonicalize`: ``{user name: expression in the user's symbols}``.

    Examples
    --------
    >>> import sympy
    >>> x0, x1 = sympy.symbols("x_0 x_1")
    >>> decanonicalize([x1, -x0], {"x": "x_0", "y": "x_1"})
    {'x': y, 'y': -x}
    """
    if len(exprs) != len(mapping):
        raise GrammarError(f"expected {len(mapping)} expressions (one per variable {', '.join(mapping)}), "
                           f"found {len(exprs)}")
    back = {canonical: sympy.Symbol(user) for user, canonical in mapping.items()}
    out = {}
    for user, expr in zip(mapping, exprs):
        unknown = sorted(s.name for s in expr.free_symbols if s.name not in back)
        if unknown:
            raise GrammarError(f"the equation for {user!r} uses {', '.join(map(repr, unknown))}, which the mapping "
                               f"does not rename; expected symbols among {', '.join(back)}")
        out[user] = expr.xreplace({s: back[s.name] for s in expr.free_symbols})
    return out


# --- tokenizer ----------------------------------------------------------------------------------------------------


def build_vocabulary(precision: int = DEFAULT_PRECISION, n_vars: int = VOCAB_VARS) -> list[str]:
    """The vocabulary in id order: special tokens, operators, ``x_0 .. x_{n_vars-1}``, number tokens."""
    if not isinstance(n_vars, int) or n_vars < 1:
        raise GrammarError(f"n_vars must be a positive integer, found {n_vars!r}")
    return [*SPECIAL_TOKENS, *OPERATORS, *(canonical_name(i) for i in range(n_vars)), *number_tokens(precision)]


class ExpressionTokenizer:
    """Token ids for systems of expressions in canonical variables.

    Parameters
    ----------
    precision:
        Significant digits of float mantissas (the vocabulary holds the mantissa tokens for this precision).
    n_vars:
        Canonical variables in the vocabulary, ``x_0 .. x_{n_vars-1}``.

    Examples
    --------
    >>> import sympy
    >>> x0, x1 = sympy.symbols("x_0 x_1")
    >>> tok = ExpressionTokenizer()
    >>> ids = tok.encode_system([x1, -0.5 * x0])
    >>> tok.decode(ids)
    ['<bos>', 'x_1', '<sep>', 'mul', '-', 'N500', 'E-3', 'x_0', '<eos>']
    >>> tok.decode_system(ids)
    [x_1, -0.5*x_0]
    """

    def __init__(self, precision: int = DEFAULT_PRECISION, n_vars: int = VOCAB_VARS) -> None:
        check_precision(precision)
        self.precision = precision
        self.n_vars = n_vars
        vocabulary = build_vocabulary(precision, n_vars)
        self._vocab = {token: i for i, token in enumerate(vocabulary)}
        self._tokenizer = self._build(self._vocab)

    @staticmethod
    def _build(vocab: dict[str, int]) -> Tokenizer:
        tokenizer = Tokenizer(WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
        tokenizer.pre_tokenizer = WhitespaceSplit()
        tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
        tokenizer.post_processor = TemplateProcessing(
            single=f"{BOS_TOKEN} $A {EOS_TOKEN}",
            special_tokens=[(BOS_TOKEN, vocab[BOS_TOKEN]), (EOS_TOKEN, vocab[EOS_TOKEN])],
        )
        return tokenizer

    # -- ids of the special tokens and the vocabulary --

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def pad_id(self) -> int:
        return self._vocab[PAD_TOKEN]

    @property
    def bos_id(self) -> int:
        return self._vocab[BOS_TOKEN]

    @property
    def eos_id(self) -> int:
        return self._vocab[EOS_TOKEN]

    @property
    def sep_id(self) -> int:
        return self._vocab[SEP_TOKEN]

    @property
    def unk_id(self) -> int:
        return self._vocab[UNK_TOKEN]

    @property
    def vocab(self) -> dict[str, int]:
        """A copy of ``{token: id}``."""
        return dict(self._vocab)

    @property
    def tokenizer(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer``."""
        return self._tokenizer

    def __repr__(self) -> str:
        return f"ExpressionTokenizer(precision={self.precision}, n_vars={self.n_vars}, vocab_size={self.vocab_size})"

    # -- token level --

    def _unknown_token_error(self, token: str, position: int) -> GrammarError:
        numeric = is_mantissa_token(token) or is_exponent_token(token)
        if is_symbol_token(token) and not numeric and not _CANONICAL_RE.fullmatch(token):
            return GrammarError(
                f"symbol {token!r} at position {position} is not a canonical variable; rename variables to "
                f"x_0..x_{self.n_vars - 1} (see grammar.canonicalize)"
            )
        if _CANONICAL_RE.fullmatch(token):
            return GrammarError(f"variable {token!r} at position {position} is beyond this vocabulary's "
                                f"x_0..x_{self.n_vars - 1}")
        return GrammarError(f"token {token!r} at position {position} is not in the vocabulary "
                            f"(precision {self.precision}, integers -{SMALL_INT_MAX}..{SMALL_INT_MAX}, "
                            f"magnitudes 1e-{MAX_EXPONENT}..1e+{MAX_EXPONENT})")

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of prefix tokens (special tokens may appear; none are added).

        Raises
        ------
        GrammarError
            For a token outside the vocabulary (a non-canonical symbol, a mantissa of another precision, ...),
            naming its position.
        """
        if isinstance(tokens, str):
            raise GrammarError(f"expected a list of tokens, found the string {tokens[:40]!r}; split it first")
        tokens = list(tokens)
        for k, token in enumerate(tokens):
            if not isinstance(token, str) or token not in self._vocab:
                if isinstance(token, str) and token and not any(c.isspace() for c in token):
                    raise self._unknown_token_error(token, k)
                raise GrammarError(f"token {token!r} at position {k} is not in the vocabulary")
        if not tokens:
            return []
        ids = self._tokenizer.encode(" ".join(tokens), add_special_tokens=False).ids
        if len(ids) != len(tokens):  # pragma: no cover - guarded by the vocabulary check above
            raise GrammarError(f"tokenizer split {len(tokens)} tokens into {len(ids)} ids")
        return ids

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Tokens of ``ids`` (special tokens included).

        Raises
        ------
        GrammarError
            For an id that is not an integer in ``0 .. vocab_size - 1``, naming its position.
        """
        tokens = []
        for k, i in enumerate(ids):
            try:
                if isinstance(i, bool):
                    raise TypeError
                i = operator.index(i)  # int, numpy integer, 0-d integer tensor
            except TypeError:
                raise GrammarError(f"invalid token id {i!r} at position {k}: expected an integer") from None
            if not 0 <= i < self.vocab_size:
                raise GrammarError(f"invalid token id {i} at position {k}: expected 0..{self.vocab_size - 1}")
            tokens.append(self._tokenizer.id_to_token(i))
        return tokens

    # -- systems --

    def encode_system(self, exprs: Sequence[sympy.Expr]) -> list[int]:
        """``<bos>`` + ids of the system's prefix tokens (equations joined by ``<sep>``) + ``<eos>``.

        Raises
        ------
        GrammarError
            When an expression is outside the grammar or uses a symbol other than ``x_0 .. x_{n_vars-1}``.
        """
        if isinstance(exprs, (str, dict, sympy.Basic)) or not isinstance(exprs, Sequence):
            raise GrammarError(f"expected a list of expressions in x_0..x_{self.n_vars - 1}, "
                               f"found {type(exprs).__name__}")
        for k, expr in enumerate(exprs):
            free = getattr(expr, "free_symbols", set())
            bad = sorted(s.name for s in free if not (_CANONICAL_RE.fullmatch(s.name) and s.name in self._vocab))
            if bad:
                raise GrammarError(
                    f"equation {k} uses {', '.join(map(repr, bad))}; rename variables to "
                    f"x_0..x_{self.n_vars - 1} (see grammar.canonicalize)"
                )
        return [self.bos_id, *self.encode(system_to_prefix(exprs, self.precision)), self.eos_id]

    def decode_system(self, ids: Sequence[int]) -> list[sympy.Expr]:
        """The system encoded by ``ids``: an optional leading ``<bos>``, equations separated by ``<sep>``, up to
        the first ``<eos>`` (anything after it, such as padding, is ignored).

        Raises
        ------
        GrammarError
            For an invalid id, a misplaced special token, or a malformed equation; the message names the
            position in ``ids``.
        """
        tokens = self.decode(ids)
        start = 1 if tokens and tokens[0] == BOS_TOKEN else 0
        stop = tokens.index(EOS_TOKEN, start) if EOS_TOKEN in tokens[start:] else len(tokens)
        for k in range(start, stop):
            if tokens[k] in (PAD_TOKEN, BOS_TOKEN, UNK_TOKEN):
                raise GrammarError(f"unexpected special token {tokens[k]!r} at position {k} inside a system")
            # Only canonical variables are symbols here: a stray mantissa or exponent token is an error, not
            # a symbol named "N314" (which is how prefix.from_prefix would read it).
            previous = tokens[k - 1] if k > start else None
            if is_mantissa_token(tokens[k]) and previous not in SIGN_TOKENS:
                raise GrammarError(f"mantissa token {tokens[k]!r} at position {k} must follow a sign token "
                                   f"('+' or '-')")
            if is_exponent_token(tokens[k]) and not (previous and is_mantissa_token(previous)):
                raise GrammarError(f"exponent token {tokens[k]!r} at position {k} must follow a mantissa token")
        return _parse_system(tokens[start:stop], offset=start)

    # -- persistence and transformers --

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``tokenizer.json`` and ``eqdisco_tokenizer.json`` (precision, n_vars, ...) into ``folder``.

        Returns the folder. Files are written atomically.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "format_version": _FORMAT_VERSION,
            "precision": self.precision,
            "n_vars": self.n_vars,
            "small_int_max": SMALL_INT_MAX,
            "max_exponent": MAX_EXPONENT,
            "special_tokens": list(SPECIAL_TOKENS),
        }
        _atomic_write(folder / TOKENIZER_FILE, self._tokenizer.to_str(pretty=True))
        _atomic_write(folder / CONFIG_FILE, json.dumps(config, indent=2))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike[str]) -> "ExpressionTokenizer":
        """Load a tokenizer written by :meth:`save`.

        Raises
        ------
        GrammarError
            When a file is missing or unreadable, or the saved vocabulary differs from the one this version of
            the grammar derives for the saved settings.
        """
        folder = Path(folder)
        config_path, tokenizer_path = folder / CONFIG_FILE, folder / TOKENIZER_FILE
        for path in (config_path, tokenizer_path):
            if not path.is_file():
                raise GrammarError(f"{path}: file not found; expected a folder written by ExpressionTokenizer.save")
        try:
            config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
            loaded = Tokenizer.from_file(str(tokenizer_path))
        except Exception as err:  # OSError, JSON errors, and tokenizers' own plain Exception
            raise GrammarError(f"{folder}: cannot read the tokenizer files: {err}") from None
        if config.get("format_version") != _FORMAT_VERSION:
            raise GrammarError(f"{config_path}: format_version {config.get('format_version')!r}, "
                               f"expected {_FORMAT_VERSION}")
        for key, current in (("small_int_max", SMALL_INT_MAX), ("max_exponent", MAX_EXPONENT)):
            if config.get(key) != current:
                raise GrammarError(f"{config_path}: {key} is {config.get(key)!r} but this grammar uses {current}")
        tokenizer = cls(precision=config.get("precision"), n_vars=config.get("n_vars"))
        if loaded.get_vocab() != tokenizer._vocab:
            raise GrammarError(f"{tokenizer_path}: the saved vocabulary differs from the grammar's vocabulary for "
                               f"precision={tokenizer.precision}, n_vars={tokenizer.n_vars}")
        tokenizer._tokenizer = loaded
        return tokenizer

    def to_transformers(self) -> "PreTrainedTokenizerFast":
        """A ``transformers.PreTrainedTokenizerFast`` over the same vocabulary, special tokens set.

        Called on space-joined prefix tokens it adds ``<bos>`` and ``<eos>``, like :meth:`encode_system`.
        Imports transformers.
        """
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast(
            tokenizer_object=self._tokenizer,
            pad_token=PAD_TOKEN,
            bos_token=BOS_TOKEN,
            eos_token=EOS_TOKEN,
            unk_token=UNK_TOKEN,
            sep_token=SEP_TOKEN,
        )


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
