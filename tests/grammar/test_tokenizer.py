"""ExpressionTokenizer: derived vocabulary, ids, persistence, transformers, canonical variables."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sympy

from grammar.errors import GrammarError
from grammar.numbers import number_tokens
from grammar.operators import OPERATORS
from grammar.prefix import SEP_TOKEN, system_to_prefix
from grammar.sampler import sample_system
from grammar.tokenizer import (
    CONFIG_FILE,
    MAX_VARS,
    SPECIAL_TOKENS,
    TOKENIZER_FILE,
    VOCAB_VARS,
    ExpressionTokenizer,
    build_vocabulary,
    canonical_symbols,
    canonicalize,
    decanonicalize,
)

x0, x1, x2 = canonical_symbols(3)


@pytest.fixture(scope="module")
def tok() -> ExpressionTokenizer:
    return ExpressionTokenizer()


@pytest.fixture(scope="module")
def systems() -> list[list[sympy.Expr]]:
    rng = np.random.default_rng(7)
    return [sample_system(int(rng.integers(1, MAX_VARS + 1)), rng) for _ in range(40)]


def test_vocabulary_is_derived(tok):
    vocab = build_vocabulary()
    assert len(vocab) == len(set(vocab)) == tok.vocab_size
    assert vocab[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.sep_id) == (0, 1, 2, 3)
    assert set(vocab) == set(SPECIAL_TOKENS) | set(OPERATORS) | {f"x_{i}" for i in range(VOCAB_VARS)} | set(
        number_tokens(3)
    )
    assert VOCAB_VARS >= 10 > MAX_VARS
    assert tok.tokenizer.get_vocab() == tok.vocab


def test_precision_changes_the_vocabulary():
    assert ExpressionTokenizer(precision=2).vocab_size < ExpressionTokenizer(precision=3).vocab_size
    assert "N1234" in ExpressionTokenizer(precision=4).vocab


def test_encode_system_round_trip(tok, systems):
    for system in systems:
        ids = tok.encode_system(system)
        assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
        assert ids.count(tok.sep_id) == len(system) - 1
        assert tok.decode(ids)[1:-1] == system_to_prefix(system)
        assert tok.decode_system(ids) == system


def test_encode_decode_tokens(tok):
    tokens = ["add", "x_0", "mul", "-", "N250", "E-2", "x_1"]
    ids = tok.encode(tokens)
    assert tok.decode(ids) == tokens
    assert tok.encode([]) == []


def test_decode_system_stops_at_eos_and_accepts_numpy_ids(tok):
    ids = tok.encode_system([x1, -x0])
    padded = np.array(ids + [tok.pad_id] * 5, dtype=np.int64)
    assert tok.decode_system(padded) == [x1, -x0]
    assert tok.decode_system(ids[1:-1]) == [x1, -x0]  # no <bos> / <eos> at all


@pytest.mark.parametrize(
    "exprs, message",
    [
        ([sympy.Symbol("y")], "equation 0 uses 'y'; rename variables to x_0..x_9"),
        ([x0, x0 * sympy.Symbol("x_12")], "equation 1 uses 'x_12'"),
        ([sympy.Symbol("N314") + x0], "equation 0 uses 'N314'"),  # a symbol, though spelled like a mantissa
        ([sympy.gamma(x0)], "unsupported operator 'gamma'"),
        ({"x": x0}, "expected a list of expressions"),
    ],
)
def test_encode_system_errors(tok, exprs, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        tok.encode_system(exprs)


@pytest.mark.parametrize(
    "tokens, message",
    [
        (["add", "y", "x_0"], "symbol 'y' at position 1 is not a canonical variable; rename variables to x_0..x_9"),
        (["x_10"], "variable 'x_10' at position 0 is beyond"),
        (["mul", "+", "N1234", "E0", "x_0"], "token 'N1234' at position 2 is not in the vocabulary"),
        (["x_0", "a b"], "token 'a b' at position 1"),
        ("add x_0 x_1", "found the string"),
    ],
)
def test_encode_errors(tok, tokens, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        tok.encode(tokens)


def test_decode_system_errors_name_positions(tok):
    add, x_0 = tok.vocab["add"], tok.vocab["x_0"]
    cases = [
        ([tok.bos_id, x_0, 99999], "invalid token id 99999 at position 2"),
        ([tok.bos_id, -1], "invalid token id -1 at position 1"),
        ([tok.bos_id, 1.5], "invalid token id 1.5 at position 1: expected an integer"),
        ([tok.bos_id, True], "invalid token id True at position 1"),
        ([tok.bos_id, x_0, tok.pad_id, tok.eos_id], "unexpected special token '<pad>' at position 2"),
        ([tok.bos_id, x_0, tok.bos_id, tok.eos_id], "unexpected special token '<bos>' at position 2"),
        ([tok.bos_id, add, x_0, tok.eos_id], "operator 'add' at position 1 expects 2 operand(s), found 1"),
        ([tok.bos_id, x_0, x_0, tok.eos_id], "leftover token 'x_0' at position 2"),
        ([tok.bos_id, x_0, tok.sep_id, tok.eos_id], "empty equation 1"),
        ([tok.bos_id, tok.eos_id], "empty token sequence at position 1"),
        ([tok.bos_id, tok.vocab["N314"], tok.eos_id], "mantissa token 'N314' at position 1 must follow a sign"),
        ([tok.bos_id, tok.vocab["mul"], x_0, tok.vocab["E2"], tok.eos_id],
         "exponent token 'E2' at position 3 must follow a mantissa"),
    ]
    for ids, message in cases:
        with pytest.raises(GrammarError, match=re.escape(message)):
            tok.decode_system(ids)


def test_save_and_load(tmp_path, systems):
    tok = ExpressionTokenizer(precision=4, n_vars=6)
    folder = tok.save(tmp_path / "tok")
    assert (folder / TOKENIZER_FILE).is_file()
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["precision"] == 4 and config["n_vars"] == 6
    loaded = ExpressionTokenizer.from_pretrained(folder)
    assert (loaded.precision, loaded.n_vars, loaded.vocab) == (4, 6, tok.vocab)
    for system in systems[:10]:
        assert loaded.encode_system(system) == tok.encode_system(system)
        assert loaded.decode_system(tok.encode_system(system)) == tok.decode_system(tok.encode_system(system))


def test_load_errors(tmp_path):
    with pytest.raises(GrammarError, match="file not found"):
        ExpressionTokenizer.from_pretrained(tmp_path / "missing")
    folder = ExpressionTokenizer().save(tmp_path / "tok")
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "precision": 2}))
    with pytest.raises(GrammarError, match="saved vocabulary differs"):
        ExpressionTokenizer.from_pretrained(folder)
    (folder / TOKENIZER_FILE).write_text("not json")
    with pytest.raises(GrammarError, match="cannot read"):
        ExpressionTokenizer.from_pretrained(folder)


def test_to_transformers(tok, systems, tmp_path):
    pytest.importorskip("transformers")
    hf = tok.to_transformers()
    assert len(hf) == tok.vocab_size
    assert (hf.pad_token_id, hf.bos_token_id, hf.eos_token_id, hf.sep_token_id, hf.unk_token_id) == (
        tok.pad_id, tok.bos_id, tok.eos_id, tok.sep_id, tok.unk_id)
    for system in systems[:10]:
        ids = tok.encode_system(system)
        text = " ".join(system_to_prefix(system))
        assert hf(text)["input_ids"] == ids
        assert hf.decode(ids, skip_special_tokens=False).split() == tok.decode(ids)
    batch = hf(["x_0", f"add x_0 x_1 {SEP_TOKEN} x_2"], padding=True)["input_ids"]
    assert batch[0][-1] == tok.pad_id and len(batch[0]) == len(batch[1])


def test_canonicalize_round_trip():
    x, y, k = sympy.symbols("x y k")
    exprs, mapping = canonicalize({"y": x * y, "x": -y + 2})
    assert mapping == {"y": "x_0", "x": "x_1"}
    assert exprs == [x1 * x0, -x0 + 2]
    assert decanonicalize(exprs, mapping) == {"y": x * y, "x": -y + 2}
    # Names that are themselves canonical are swapped simultaneously, not chained.
    exprs, mapping = canonicalize({"x_1": x0, "x_0": x1})
    assert exprs == [x1, x0] and decanonicalize(exprs, mapping) == {"x_1": x0, "x_0": x1}
    with pytest.raises(GrammarError, match="uses 'k', which is not a state variable"):
        canonicalize({"x": k * x})
    with pytest.raises(GrammarError, match="expected 2 expressions"):
        decanonicalize([x0], mapping)
    with pytest.raises(GrammarError, match="at most 10 state variables"):
        canonicalize({f"v{i}": sympy.Integer(1) for i in range(11)})
