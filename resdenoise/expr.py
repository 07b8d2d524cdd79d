"""Your own nonlinearity as a formula: a small, safe expression language in r.

An expression such as ``r*exp(-r**2/(2*lam**2))`` is parsed with :mod:`ast`
and checked against a whitelist; it is **never** evaluated as Python.  What
is allowed:

* the argument ``r`` (for a shrinkage function also ``s``), the parameters
  ``lam`` (lambda) and ``theta`` (``lam/sqrt2``), the constants ``pi`` and ``e``;
* numbers; ``+ - * / **`` (``^`` means ``**``, with its precedence), unary
  ``-`` and ``+``;
* comparisons ``< <= > >= == !=`` (chains allowed), ``and``, ``or``, ``not``,
  and ``a if condition else b``;
* the NumPy functions in :data:`FUNCTIONS`: exp, log, sqrt, abs, sign, tanh,
  arctan, minimum, maximum, where, clip, and also cosh, sinh, log1p, expm1, erf.

Anything else (names, attribute access, subscripts, calls of other
functions, keyword arguments, lambdas, comprehensions, strings, ...) is
refused with an :class:`ExpressionError` naming the character (1-based) and the offending
text.  Expressions are limited to :data:`MAX_LENGTH` characters and a syntax
tree :data:`MAX_DEPTH` levels deep.

:func:`parse_expression` returns an :class:`Expression`, a vectorised function
of r; :func:`expression_nonlinearity` turns it into a
:class:`~resdenoise.nonlinearities.Nonlinearity` of the given form through
:func:`~resdenoise.nonlinearities.from_function`, so its other forms are
translated numerically and its stability is analysed like any other custom
function.

Examples
--------
>>> f = parse_expression("r*exp(-r**2/2)")
>>> [round(float(x), 6) for x in f([0.0, 1.0])]
[0.0, 0.606531]
>>> parse_expression("r.__class__")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
resdenoise.expr.ExpressionError: character 1: attribute access 'r.__class__' is not allowed; ...
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from .errors import ParameterError
from .nonlinearities import FORMS, Nonlinearity, check_lambda, from_function

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Expression",
    "ExpressionError",
    "expression_nonlinearity",
    "parse_expression",
]

#: Longest accepted expression, in characters.
MAX_LENGTH: Final = 1000
#: Deepest accepted syntax tree (``-(-(-r))`` is 4 deep; ``r+r+...+r`` with
#: n terms is n deep).
MAX_DEPTH: Final = 50

_ERF = np.vectorize(math.erf, otypes=[float])

#: name -> (function, smallest and largest number of arguments)
FUNCTIONS: Final[dict[str, tuple[Callable, int, int]]] = {
    "exp": (np.exp, 1, 1),
    "log": (np.log, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "abs": (np.abs, 1, 1),
    "sign": (np.sign, 1, 1),
    "tanh": (np.tanh, 1, 1),
    "arctan": (np.arctan, 1, 1),
    "minimum": (np.minimum, 2, 2),
    "maximum": (np.maximum, 2, 2),
    "where": (np.where, 3, 3),
    "clip": (np.clip, 3, 3),
    "cosh": (np.cosh, 1, 1),
    "sinh": (np.sinh, 1, 1),
    "log1p": (np.log1p, 1, 1),
    "expm1": (np.expm1, 1, 1),
    "erf": (_ERF, 1, 1),
}

_CONSTANTS: Final = {"pi": math.pi, "e": math.e}

_BINARY: Final = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_UNARY: Final = {ast.USub: np.negative, ast.UAdd: np.positive}
#: and/or/not look like Python's, which they would not be on arrays: refused, naming these
_LOGIC_HINT: Final = (
    "and/or/not would not mean Python's on arrays; use a if c else b (or where(c, a, b)), "
    "for both: (r > 0) * (r < 1), for either: maximum(c1, c2), for not: 1 - (c)"
)
_COMPARE: Final = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}

#: How refused syntax is named in messages.
_WHAT: Final = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.JoinedStr: "string",
    ast.NamedExpr: "assignment",
    ast.Starred: "starred argument",
    ast.Slice: "slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.FloorDiv: "operator //",
    ast.Mod: "operator %",
    ast.MatMult: "operator @",
    ast.LShift: "operator <<",
    ast.RShift: "operator >>",
    ast.BitOr: "operator |",
    ast.BitAnd: "operator &",
    ast.Invert: "operator ~",
    ast.Is: "operator 'is'",
    ast.IsNot: "operator 'is not'",
    ast.In: "operator 'in'",
    ast.NotIn: "operator 'not in'",
    ast.Not: "operator 'not'",
}


class ExpressionError(ParameterError):
    """An expression is malformed or uses something outside the whitelist (exit code 2)."""


def _variables(form: str) -> tuple[str, ...]:
    return ("r", "s") if form == "shrinkage" else ("r",)


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression: call it as ``f(r, lam=1.0)``.

    Attributes
    ----------
    text : str
        The expression as given.
    form : str
        The form it describes (decides whether ``s`` is a valid name).
    uses_lam : bool
        Whether it mentions ``lam`` or ``theta``.
    """

    text: str
    form: str
    uses_lam: bool
    _fn: Callable
    _dfn: Callable | None = None
    _d2fn: Callable | None = None  # a regulariser's: its second derivative (g(0))

    def __call__(self, r, lam: float = 1.0) -> np.ndarray:
        """Evaluate elementwise; the result has r's shape, dtype float64."""
        return self._evaluate(self._fn, r, lam)

    def derivative(self, r, lam: float = 1.0) -> np.ndarray:
        """The derivative in r, by the rules of calculus applied to the syntax tree.

        Exact up to rounding where the formula is differentiable.  nan where
        a kinked function sits exactly on its kink (``abs`` or ``sign`` of 0,
        ``minimum``/``maximum`` of equal values, ``clip`` at a bound): the
        rules do not say which side to take, and the sum of two kinked terms
        may well be smooth there.  ``where(c, a, b)`` and ``a if c else b``
        differentiate the branch c selects.  nan or inf also where the rules
        break down (``sqrt(r**2)`` at 0).
        """
        return self._evaluate(self._dfn, r, lam, ties=True)

    def second_derivative(self, r, lam: float = 1.0) -> np.ndarray:
        """The second derivative in r of a regulariser's formula (``Psi''``, whose half at
        0 is the diffusivity's ``g(0)``), by the rules of calculus applied twice; nan as
        :meth:`derivative` says (a kinked function on its kink), and for another form."""
        if self._d2fn is None:
            return np.full(np.shape(r), np.nan)
        return self._evaluate(self._d2fn, r, lam, ties=True)

    @staticmethod
    def _evaluate(fn, r, lam, ties=False):
        r = np.asarray(r, dtype=float)
        theta = float(lam) / math.sqrt(2.0)
        env = {"r": r, "s": r, "lam": float(lam), "theta": theta, "memo": {}}
        if ties:
            env["tie"] = np.zeros(r.shape, dtype=bool)
        with np.errstate(all="ignore"):  # 0/0, log(0), overflow: nan and inf, as NumPy
            out = np.asarray(fn(env), dtype=float)
        if out.shape != r.shape:
            out = np.broadcast_to(out, r.shape).copy()
        if ties and env["tie"].any():
            out = np.where(env["tie"], np.nan, out)
        return out

    def bind(self, lam: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
        """The function ``r -> self(r, lam)``; its ``derivative`` attribute is
        ``r -> self.derivative(r, lam)`` (a formula's activation: the g(0) of
        :func:`~resdenoise.nonlinearities.phi_to_g`)."""

        def bound(r):
            return self(r, lam)

        bound.derivative = lambda r: self.derivative(r, lam)
        return bound


def parse_expression(text: str, form: str = "activation") -> Expression:
    """Parse and check an expression in r; see the module documentation.

    Raises
    ------
    ExpressionError
        For an expression that is empty, too long, too deeply nested,
        malformed, or uses anything outside the whitelist; the message names
        the character (1-based) and the offending text.
    """
    if form not in FORMS:
        raise ValueError(f"Unknown form {form!r}. Valid forms: {', '.join(FORMS)}")
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    return _parse(text, form)


@functools.lru_cache(maxsize=1024)
def _parse(text: str, form: str) -> Expression:
    """:func:`parse_expression` of a string, once per (text, form): an Expression
    is immutable, so a network's repeated formulas share one."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("the expression is empty; give a formula in r, e.g. 'r*exp(-r**2/2)'")
    if "\n" in stripped or "\r" in stripped:
        raise ExpressionError("the expression must be on one line")
    # ^ is a power, with the precedence of ** (Python's ^ would bind looser than +)
    columns = _Columns(text, stripped)
    source = stripped.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        last = re.search(r"(\*\*|[-+*/^%<>=,(])\s*$", stripped)
        if last:  # 'r**': Python points at its start
            raise ExpressionError(
                f"{text!r} is incomplete: an operand is missing after its last {last.group(1)!r}"
            ) from None
        col = columns.original(max(exc.offset or 1, 1) - 1)
        why = f" ({exc.msg})" if exc.msg != "invalid syntax" else ""
        raise ExpressionError(f"character {col}: invalid syntax in {text!r}{why}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc}") from None
    checker = _Compiler(source, form, columns, _repeated(tree.body))
    fn = checker.compile(tree.body, 1)
    dfn = _Differentiator(checker).d(tree.body)
    d2fn = _SecondDifferentiator(checker).dd(tree.body) if form == "regulariser" else None
    return Expression(text=text, form=form, uses_lam=checker.uses_lam, _fn=fn, _dfn=dfn, _d2fn=d2fn)


class _Columns:
    """Maps an index into the parsed source (stripped, ^ written as **) to
    the 1-based column of the text as given."""

    def __init__(self, text: str, stripped: str):
        self.text = stripped
        self.lead = len(text) - len(text.lstrip())
        carets = [i for i, c in enumerate(stripped) if c == "^"]
        self.starts = [p + k for k, p in enumerate(carets)]  # where each ** begins

    def original(self, index: int) -> int:
        return index - sum(1 for s in self.starts if s < index) + self.lead + 1


def _repeated(tree: ast.AST) -> dict:
    """``{id(node): shape}`` of the subtrees of ``tree`` that occur more than once, as
    they are written (the same operators, functions, names and numbers: ``abs(r)`` in
    each of 44 terms), each shape a number; the others are left out.  Bottom-up, each
    node once (its shape from its own fields and its children's shapes)."""
    shapes: dict = {}  # id(node) -> shape number
    numbers: dict = {}  # (kind, fields, children's shapes) -> shape number
    nodes: dict = {}  # shape number -> the nodes of that shape
    stack = [(tree, False)]
    while stack:
        node, seen = stack.pop()
        kids = list(ast.iter_child_nodes(node))
        if not seen:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)
            continue
        own = tuple(
            (name, type(value).__name__, repr(value))
            for name, value in ast.iter_fields(node)
            if not isinstance(value, (ast.AST, list))
        )
        key = (type(node).__name__, own, tuple(shapes[id(kid)] for kid in kids))
        shape = numbers.setdefault(key, len(numbers))
        shapes[id(node)] = shape
        nodes.setdefault(shape, []).append(node)
    return {
        id(node): shape
        for shape, alike in nodes.items()
        if len(alike) > 1 and not isinstance(alike[0], (ast.Name, ast.Constant, ast.expr_context))
        for node in alike
    }


def _shared(fn: Callable, shape: int) -> Callable:
    """``fn`` of a subtree written more than once: computed once per evaluation (its
    value kept in the evaluation's ``env["memo"]`` under its shape, the same numbers:
    the same operations on the same arrays)."""

    def shared(env):
        memo = env["memo"]
        value = memo.get(shape)
        if value is None:
            value = memo[shape] = fn(env)
        return value

    return shared


class _Compiler:
    """Checks every node against the whitelist and builds nested closures (``repeated``:
    :func:`_repeated`'s subtrees, each computed once per evaluation)."""

    def __init__(self, source: str, form: str, columns: _Columns | None = None, repeated=None):
        self.repeated = repeated or {}
        self.source = source
        self.columns = columns or _Columns(source, source)
        self.names = _variables(form) + ("lam", "theta") + tuple(_CONSTANTS)
        self.uses_lam = False
        self.compiled: dict = {}  # id(node) -> its closure: each node compiled once

    # -- messages ------------------------------------------------------------
    def _column(self, node: ast.AST) -> int:
        offset = getattr(node, "col_offset", 0)  # a UTF-8 byte offset
        return self.columns.original(len(self.source.encode()[:offset].decode(errors="ignore")))

    def _snippet(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.source, node) or type(node).__name__
        return text if len(text) <= 40 else text[:37] + "..."

    def refuse(self, node: ast.AST, what: str, hint: str = "") -> ExpressionError:
        snippet, whole = self._snippet(node), self.columns.text
        message = f"character {self._column(node)}: {what} {snippet!r} is not allowed"
        message += f" in {whole!r}" if len(whole) <= 80 and snippet != whole.strip() else ""
        return ExpressionError(message + (f"; {hint}" if hint else ""))

    # -- compilation ---------------------------------------------------------
    def compile(self, node: ast.AST, depth: int) -> Callable:
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"character {self._column(node)}: the expression is nested more than "
                f"{MAX_DEPTH} levels deep"
            )
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _WHAT.get(type(node), f"syntax ({type(node).__name__})")
            raise self.refuse(node, what, self._allowed())
        fn = method(node, depth + 1)
        shape = self.repeated.get(id(node))
        if shape is not None:
            fn = _shared(fn, shape)
        self.compiled[id(node)] = fn
        return fn

    def value(self, node: ast.AST) -> Callable:
        """The closure of ``node``, compiled (and checked) already by :meth:`compile` of
        the whole tree: the derivative's rules use the values of every subtree, and
        compiling each again made a parse quadratic in the formula's length (1000
        characters: 0.25 s)."""
        fn = self.compiled.get(id(node))
        return self.compile(node, 1) if fn is None else fn

    def _allowed(self) -> str:
        return (
            f"use {', '.join(self.names)}, numbers, + - * / **, comparisons and "
            f"{', '.join(FUNCTIONS)}"
        )

    def _Constant(self, node, depth):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(node, "constant", "only real numbers are allowed")
        try:
            number = float(value)
        except OverflowError:
            raise self.refuse(node, "number too large", "") from None
        if not math.isfinite(number):
            raise self.refuse(node, "number out of range", "")
        return lambda env: number

    def _Name(self, node, depth):
        name = node.id
        if name not in self.names:
            hint = f"allowed names: {', '.join(self.names)}"
            if name in FUNCTIONS:
                hint = f"{name} is a function: call it as {name}(...)"
            raise self.refuse(node, "name", hint)
        if name in ("lam", "theta"):
            self.uses_lam = True
        if name in _CONSTANTS:
            value = _CONSTANTS[name]
            return lambda env: value
        return lambda env: env[name]

    def _BinOp(self, node, depth):
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.refuse(node, _WHAT.get(type(node.op), "operator"), self._allowed())
        left, right = self.compile(node.left, depth), self.compile(node.right, depth)
        return lambda env: op(left(env), right(env))

    def _UnaryOp(self, node, depth):
        op = _UNARY.get(type(node.op))
        if isinstance(node.op, ast.Not):
            raise self.refuse(node, "operator 'not'", _LOGIC_HINT)
        if op is None:
            raise self.refuse(node, _WHAT.get(type(node.op), "operator"), self._allowed())
        operand = self.compile(node.operand, depth)
        return lambda env: op(operand(env))

    def _Compare(self, node, depth):
        ops = []
        for op in node.ops:
            func = _COMPARE.get(type(op))
            if func is None:
                raise self.refuse(node, _WHAT.get(type(op), "comparison"), self._allowed())
            ops.append(func)
        terms = [self.compile(node.left, depth)] + [
            self.compile(c, depth) for c in node.comparators
        ]

        def compare(env):
            values = [t(env) for t in terms]
            out = ops[0](values[0], values[1])
            for i in range(1, len(ops)):
                out = np.logical_and(out, ops[i](values[i], values[i + 1]))
            return out

        return compare

    def _BoolOp(self, node, depth):
        word = "and" if isinstance(node.op, ast.And) else "or"
        raise self.refuse(node, f"operator '{word}'", _LOGIC_HINT)

    def _IfExp(self, node, depth):
        test, body, orelse = (self.compile(n, depth) for n in (node.test, node.body, node.orelse))
        return lambda env: np.where(test(env), body(env), orelse(env))

    def _Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            what = _WHAT.get(type(node.func), "call")
            raise self.refuse(node.func, what, self._allowed())
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(node.func, "function", f"allowed functions: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise self.refuse(node.keywords[0], f"keyword argument to {name}()", "")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse(arg, "starred argument", "")
        func, least, most = FUNCTIONS[name]
        if not least <= len(node.args) <= most:
            count = str(least) if least == most else f"{least} to {most}"
            raise ExpressionError(
                f"character {self._column(node)}: {name}() takes {count} argument"
                f"{'' if count == '1' else 's'}, got {len(node.args)} in {self._snippet(node)!r}"
            )
        args = [self.compile(a, depth) for a in node.args]
        return lambda env: func(*(a(env) for a in args))

    def _Expression(self, node, depth):  # pragma: no cover - parse(mode="eval") unwraps it
        return self.compile(node.body, depth)


def _zero(env):
    return 0.0


class _Differentiator:
    """d/dr of a checked syntax tree, as closures (uses the compiler for values)."""

    def __init__(self, compiler: _Compiler):
        self.value = compiler.value
        self.variables = set(_variables("shrinkage"))
        self._depends: dict = {}  # id(node) -> whether it mentions r (s): once a node

    def depends(self, node: ast.AST) -> bool:
        known = self._depends.get(id(node))
        if known is None:
            known = (isinstance(node, ast.Name) and node.id in self.variables) or any(
                [self.depends(n) for n in ast.iter_child_nodes(node)]
            )
            self._depends[id(node)] = known
        return known

    def d(self, node: ast.AST) -> Callable:
        if not self.depends(node):
            return _zero
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:  # comparisons: piecewise constant
            return _zero
        return method(node)

    def _Name(self, node):
        return lambda env: 1.0

    def _UnaryOp(self, node):
        if isinstance(node.op, ast.USub):
            da = self.d(node.operand)
            return lambda env: -da(env)
        if isinstance(node.op, ast.UAdd):
            return self.d(node.operand)
        return _zero  # pragma: no cover - not is refused by the compiler

    def _IfExp(self, node):
        test = self.value(node.test)
        db, dc = self.d(node.body), self.d(node.orelse)
        return lambda env: np.where(test(env), db(env), dc(env))

    def _BinOp(self, node):
        op = type(node.op)
        a, b = self.value(node.left), self.value(node.right)
        da, db = self.d(node.left), self.d(node.right)
        if op is ast.Add:
            return lambda env: da(env) + db(env)
        if op is ast.Sub:
            return lambda env: da(env) - db(env)
        if op is ast.Mult:
            return lambda env: da(env) * b(env) + a(env) * db(env)
        if op is ast.Div:
            return lambda env: (da(env) - a(env) / b(env) * db(env)) / b(env)
        # power (** or ^)
        if not self.depends(node.right):
            return lambda env: b(env) * np.power(a(env), b(env) - 1.0) * da(env)
        if not self.depends(node.left):
            return lambda env: np.power(a(env), b(env)) * np.log(a(env)) * db(env)
        return lambda env: (
            np.power(a(env), b(env)) * (db(env) * np.log(a(env)) + b(env) * da(env) / a(env))
        )

    def _Call(self, node):
        name = node.func.id
        args = [self.value(n) for n in node.args]
        ds = [self.d(n) for n in node.args]
        if name == "where":
            c, (_, a, b), (_, da, db) = args[0], args, ds
            return lambda env: np.where(c(env), da(env), db(env))
        if name == "minimum" or name == "maximum":
            (a, b), (da, db) = args, ds
            first = np.less_equal if name == "minimum" else np.greater_equal

            def extremum(env):
                va, vb = a(env), b(env)
                _tie(env, va == vb)
                return np.where(first(va, vb), da(env), db(env))

            return extremum
        if name == "clip":
            (x, lo, hi), (dx, dlo, dhi) = args, ds

            def clip(env):
                vx, vlo, vhi = x(env), lo(env), hi(env)
                _tie(env, (vx == vlo) | (vx == vhi))
                return np.where(vx < vlo, dlo(env), np.where(vx > vhi, dhi(env), dx(env)))

            return clip
        a, da = args[0], ds[0]
        outer = _OUTER[name]
        if name in ("abs", "sign"):

            def kinked(env):
                va = a(env)
                _tie(env, va == 0.0)
                return outer(va) * da(env)

            return kinked
        return lambda env: outer(a(env)) * da(env)


class _SecondDifferentiator(_Differentiator):
    """d2/dr2 of a checked syntax tree, as closures: the rules of calculus applied to the
    first derivative's (each node's first derivative built once)."""

    def __init__(self, compiler: _Compiler):
        super().__init__(compiler)
        self._firsts: dict = {}

    def d(self, node: ast.AST) -> Callable:
        fn = self._firsts.get(id(node))
        if fn is None:
            fn = self._firsts[id(node)] = super().d(node)
        return fn

    def dd(self, node: ast.AST) -> Callable:
        if not self.depends(node):
            return _zero
        method = getattr(self, "_dd_" + type(node).__name__, None)
        return _zero if method is None else method(node)  # r itself, comparisons: 0

    def _dd_UnaryOp(self, node):
        dda = self.dd(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda env: -dda(env)
        return dda

    def _dd_IfExp(self, node):
        test, db, dc = self.value(node.test), self.dd(node.body), self.dd(node.orelse)
        return lambda env: np.where(test(env), db(env), dc(env))

    def _dd_BinOp(self, node):
        op = type(node.op)
        a, b = self.value(node.left), self.value(node.right)
        da, db = self.d(node.left), self.d(node.right)
        dda, ddb = self.dd(node.left), self.dd(node.right)
        if op is ast.Add:
            return lambda env: dda(env) + ddb(env)
        if op is ast.Sub:
            return lambda env: dda(env) - ddb(env)
        if op is ast.Mult:
            return lambda env: dda(env) * b(env) + 2.0 * da(env) * db(env) + a(env) * ddb(env)
        f, df = self.value(node), self.d(node)
        if op is ast.Div:  # q = a / b: q'' = (a'' - 2 q' b' - q b'') / b
            return lambda env: (dda(env) - 2.0 * df(env) * db(env) - f(env) * ddb(env)) / b(env)
        if not self.depends(node.right):  # a**c: c (c - 1) a**(c-2) a'^2 + c a**(c-1) a''
            return lambda env: (
                b(env)
                * (
                    (b(env) - 1.0) * np.power(a(env), b(env) - 2.0) * da(env) ** 2
                    + np.power(a(env), b(env) - 1.0) * dda(env)
                )
            )

        def power(env):  # f = a**b = exp(L), L = b ln a: f'' = f (L'^2 + L'')
            va, vb, vda, vdb = a(env), b(env), da(env), db(env)
            slope = vdb * np.log(va) + vb * vda / va
            bend = ddb(env) * np.log(va) + 2.0 * vdb * vda / va
            bend = bend + vb * (dda(env) * va - vda * vda) / (va * va)
            return f(env) * (slope * slope + bend)

        return power

    def _dd_Call(self, node):
        name = node.func.id
        args = [self.value(n) for n in node.args]
        ds = [self.d(n) for n in node.args]
        dds = [self.dd(n) for n in node.args]
        if name == "where":
            return lambda env: np.where(args[0](env), dds[1](env), dds[2](env))
        if name == "minimum" or name == "maximum":
            first = np.less_equal if name == "minimum" else np.greater_equal

            def extremum(env):
                va, vb = args[0](env), args[1](env)
                _tie(env, va == vb)
                return np.where(first(va, vb), dds[0](env), dds[1](env))

            return extremum
        if name == "clip":

            def clip(env):
                vx, vlo, vhi = (a(env) for a in args)
                _tie(env, (vx == vlo) | (vx == vhi))
                return np.where(vx < vlo, dds[1](env), np.where(vx > vhi, dds[2](env), dds[0](env)))

            return clip
        a, da, dda = args[0], ds[0], dds[0]
        outer, bend = _OUTER[name], _SECOND[name]

        def chain(env):  # f(a)'' = f''(a) a'^2 + f'(a) a''
            va = a(env)
            if name in ("abs", "sign"):
                _tie(env, va == 0.0)
            return bend(va) * da(env) ** 2 + outer(va) * dda(env)

        return chain


def _tie(env: dict, mask) -> None:
    """Mark points where a kinked function sits on its kink (see Expression.derivative)."""
    if "tie" in env:
        env["tie"] |= np.broadcast_to(mask, env["tie"].shape)


#: d/dx f(x) of the one-argument functions, as functions of x.
_OUTER: Final[dict[str, Callable]] = {
    "exp": np.exp,
    "log": lambda x: 1.0 / x,
    "sqrt": lambda x: 0.5 / np.sqrt(x),
    "abs": np.sign,
    "sign": lambda x: 0.0 * x,
    "tanh": lambda x: 1.0 - np.tanh(x) ** 2,
    "arctan": lambda x: 1.0 / (1.0 + x * x),
    "cosh": np.sinh,
    "sinh": np.cosh,
    "log1p": lambda x: 1.0 / (1.0 + x),
    "expm1": np.exp,
    "erf": lambda x: 2.0 / math.sqrt(math.pi) * np.exp(-x * x),
}


#: d2/dx2 f(x) of the one-argument functions, as functions of x.
_SECOND: Final[dict[str, Callable]] = {
    "exp": np.exp,
    "log": lambda x: -1.0 / (x * x),
    "sqrt": lambda x: -0.25 / (x * np.sqrt(x)),
    "abs": lambda x: 0.0 * x,
    "sign": lambda x: 0.0 * x,
    "tanh": lambda x: -2.0 * np.tanh(x) * (1.0 - np.tanh(x) ** 2),
    "arctan": lambda x: -2.0 * x / (1.0 + x * x) ** 2,
    "cosh": np.cosh,
    "sinh": np.sinh,
    "log1p": lambda x: -1.0 / (1.0 + x) ** 2,
    "expm1": np.exp,
    "erf": lambda x: -4.0 * x / math.sqrt(math.pi) * np.exp(-x * x),
}


def expression_nonlinearity(
    text: str | Expression, form: str = "activation", lam: float = 1.0, check: bool = True
) -> Nonlinearity:
    """A custom :class:`Nonlinearity` from an expression of the given form.

    ``lam`` binds ``lam`` (and ``theta = lam/sqrt2``) in the expression; the
    other forms are the general translations of
    :func:`~resdenoise.nonlinearities.from_function` (Psi by adaptive
    quadrature, S by the paper, Table 1 at tau = 1/4), except that a
    regulariser's activation ``Phi = Psi'/2`` comes from
    :meth:`Expression.derivative` (differences only where that is not finite).
    With ``check`` the activation must be finite on the stability analysis
    grid (0 and +-1e-6 lam .. +-1e6 lam), or :class:`ExpressionError` is raised.

    Examples
    --------
    >>> nl = expression_nonlinearity("exp(-r**2/(2*lam**2))", "diffusivity", lam=2.0)
    >>> round(float(nl.phi(2.0)), 12), nl.name
    (1.213061319425, 'exp(-r**2/(2*lam**2))')
    """
    expr = text if isinstance(text, Expression) else parse_expression(text, form)
    lam = check_lambda(lam)  # the registry's rule: a finite number > 0
    nl = from_function(expr.bind(lam), form, name=expr.text.strip(), lam=lam, copies=False)
    if form == "regulariser":  # Phi = Psi'/2 by the rules of calculus, not by differences
        nl = dataclasses.replace(nl, _phi=_flux_of_regulariser(expr, lam, nl._phi))
    # the functions are the formula's, bound to lam: what they are is known by this key
    nl = dataclasses.replace(nl, formula=(form, expr.text, lam))
    if check:
        _check_finite(nl, expr)
    return nl


def _flux_of_regulariser(expr: Expression, lam: float, numerical: Callable) -> Callable:
    """``Phi = Psi'/2`` from the symbolic derivative; by differences
    (:func:`~resdenoise.nonlinearities.psi_to_phi`) only where it is not finite."""

    def phi(r):
        r = np.asarray(r, dtype=float)
        out = 0.5 * expr.derivative(r, lam)
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = numerical(r[bad])
        return out

    phi.derivative = functools.partial(_flux_slope, expr, lam)
    return phi


def _flux_slope(expr: Expression, lam: float, r) -> np.ndarray:
    """``Phi' = Psi''/2`` of a regulariser's formula by the rules of calculus: its g(0)
    exact (:attr:`resdenoise.nonlinearities.Nonlinearity._slope`), not from differences of
    Psi, which see no feature of Psi at 0 narrower than lambda's steps.  nan everywhere
    where Phi jumps at 0 (total variation's ``abs(r)``: Phi = +-1/2 beside 0, which
    Psi'' = 0 does not say): the differences decide there, as before."""
    ends = np.array([-1e-300, 1e-300])
    with np.errstate(all="ignore"):
        first, second = expr.derivative(ends, lam), expr.second_derivative(ends, lam)
        linear = np.abs(first) <= 1e3 * np.abs(ends) * np.maximum(1.0, np.abs(second))
    if not np.all(linear):
        return np.full(np.shape(r), np.nan)
    return 0.5 * expr.second_derivative(r, lam)


def _check_finite(nl: Nonlinearity, expr: Expression) -> None:
    """Refuse a formula whose activation is nan or infinite somewhere on the
    stability analysis grid (0 and +-1e-6 lam .. +-1e6 lam): read from its sampled
    properties (kept per formula: the stability checks read the same sampling)."""
    from .function_properties import non_finite_activation

    bad = non_finite_activation(nl)
    if bad:
        raise ExpressionError(
            f"{expr.text!r}: {bad}; a formula must be finite for every r (overflow? the "
            "stability sampling reaches |r| = 1e6 lam: use log1p, expm1, or where(...) to "
            "split the range; ln cosh x = |x| + log1p(exp(-2|x|)) - ln 2)"
        )
