"""eqdisco's expression grammar: operator table, prefix tokens, number encoding, tokenizer, parser, sampler, zoo.

Needs sympy and tokenizers only; torch and transformers are imported inside the functions that use them.

Examples
--------
>>> import sympy
>>> from grammar import parse, to_prefix, from_prefix
>>> expr = parse("0.5*x - x*y", ["x", "y"])
>>> to_prefix(expr)
['sub', 'mul', '+', 'N500', 'E-3', 'x', 'mul', 'x', 'y']
>>> from_prefix(to_prefix(expr)) == expr
True
"""

from grammar.errors import GrammarError
from grammar.numbers import (
    DEFAULT_PRECISION,
    MAX_EXPONENT,
    SMALL_INT_MAX,
    decode_float,
    encode_float,
    encode_number,
    number_tokens,
    round_float,
)
from grammar.operators import (
    BINARY_OPERATORS,
    OPERATORS,
    UNARY_OPERATORS,
    Operator,
    function_names,
    function_operator,
    numpy_function,
    numpy_namespace,
    pysr_operators,
    torch_function,
    torch_namespace,
)
from grammar.parser import hidden_functions, parse, parse_system
from grammar.prefix import SEP_TOKEN, from_prefix, system_from_prefix, system_to_prefix, to_prefix
from grammar.sampler import SamplerConfig, sample_system
from grammar.tokenizer import (
    MAX_VARS,
    SPECIAL_TOKENS,
    VOCAB_VARS,
    ExpressionTokenizer,
    build_vocabulary,
    canonical_name,
    canonical_symbols,
    canonicalize,
    decanonicalize,
)
from grammar.zoo import ZOO, ODESystem, get_system, list_systems

__all__ = [
    "BINARY_OPERATORS",
    "DEFAULT_PRECISION",
    "MAX_EXPONENT",
    "MAX_VARS",
    "OPERATORS",
    "SEP_TOKEN",
    "SMALL_INT_MAX",
    "SPECIAL_TOKENS",
    "UNARY_OPERATORS",
    "VOCAB_VARS",
    "ZOO",
    "ExpressionTokenizer",
    "GrammarError",
    "ODESystem",
    "Operator",
    "SamplerConfig",
    "build_vocabulary",
    "canonical_name",
    "canonical_symbols",
    "canonicalize",
    "decanonicalize",
    "decode_float",
    "encode_float",
    "encode_number",
    "from_prefix",
    "function_names",
    "function_operator",
    "get_system",
    "hidden_functions",
    "list_systems",
    "number_tokens",
    "numpy_function",
    "numpy_namespace",
    "parse",
    "parse_system",
    "pysr_operators",
    "round_float",
    "sample_system",
    "system_from_prefix",
    "system_to_prefix",
    "to_prefix",
    "torch_function",
    "torch_namespace",
]
