"""The two small languages of a metric analysis, parsed without ``eval``.

- Query templates: PromQL with ``{{namespace}}``, ``{{service}}``, ``{{backend}}`` and
  ``{{colour}}`` placeholders. A template is checked when it is defined (unknown placeholders,
  unclosed quotes, unbalanced brackets) and every argument is checked when it is rendered, so a
  value can never break out of the label matcher it lands in.
- Conditions: comparisons of ``result`` (or ``result[N]``, Argo Rollouts' form for an instant
  vector) with numbers, joined by ``&&``/``and``, ``||``/``or`` and parentheses, e.g.
  ``result >= 0.99`` or ``result[0] < 500 && result[0] > 0``.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Callable, Union

ARGUMENTS = ("namespace", "service", "backend", "colour")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_UNSAFE_VALUE = re.compile(r"[\"'`\\{}\n\r]")
_PAIRS = {")": "(", "]": "[", "}": "{"}


class ExpressionError(ValueError):
    """A template or condition that cannot be used (the message names what is wrong)."""


class UnusableResult(ValueError):
    """The query result cannot answer the condition (index missing, several series, NaN)."""


# ---------------------------------------------------------------------- query templates


@dataclass(frozen=True)
class QueryTemplate:
    """A checked PromQL template (see the module docstring)."""

    text: str

    @classmethod
    def parse(cls, text: str) -> QueryTemplate:
        """Check ``text``; raises ExpressionError naming the first problem."""
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("the query is empty")
        for name in _PLACEHOLDER.findall(text):
            if name not in ARGUMENTS:
                raise ExpressionError(f"unknown placeholder {{{{{name}}}}} (known: {', '.join(ARGUMENTS)})")
        _check_brackets(_PLACEHOLDER.sub("x", text))
        return cls(text)

    @property
    def placeholders(self) -> frozenset[str]:
        """The argument names the template uses."""
        return frozenset(_PLACEHOLDER.findall(self.text))

    def render(self, args: dict[str, str]) -> str:
        """The query with every placeholder replaced; raises ExpressionError on a missing or unsafe value."""
        def value(match: re.Match) -> str:
            """The checked value for one placeholder."""
            name = match.group(1)
            if name not in args or args[name] is None:
                raise ExpressionError(f"the query needs {{{{{name}}}}} and no value was given")
            text = str(args[name])
            if _UNSAFE_VALUE.search(text) or len(text) > 253:
                raise ExpressionError(f"unsafe value for {{{{{name}}}}}: {text!r}")
            return text
        return _PLACEHOLDER.sub(value, self.text)


def _check_brackets(text: str) -> None:
    stack: list[str] = []
    quote = ""
    escaped = False
    for char in text:
        if quote:
            escaped, quote = (False, quote) if escaped else (char == "\\", "" if char == quote else quote)
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in _PAIRS:
            if not stack or stack.pop() != _PAIRS[char]:
                raise ExpressionError(f"unbalanced {char!r} in the query")
    if quote:
        raise ExpressionError(f"unclosed {quote} in the query")
    if stack:
        raise ExpressionError(f"unclosed {stack[-1]!r} in the query")


# ---------------------------------------------------------------------- conditions

_TOKEN = re.compile(r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<op>>=|<=|==|!=|>|<)"
                    r"|(?P<logic>&&|\|\||\band\b|\bor\b)|(?P<result>result)|(?P<punct>[()\[\]]))")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class Operand:
    """``result``, ``result[N]`` or a number."""

    number: float | None = None
    index: int | None = None  # None with number None: plain ``result``

    def value(self, values: tuple[float, ...]) -> float:
        """This operand's value for a query result; raises UnusableResult when it has none."""
        if self.number is not None:
            return self.number
        if self.index is None:
            if len(values) != 1:
                raise UnusableResult(f"the query returned {len(values)} series where one was expected")
            found = values[0]
        elif self.index >= len(values):
            raise UnusableResult(f"result[{self.index}] does not exist ({len(values)} series)")
        else:
            found = values[self.index]
        if not math.isfinite(found):
            raise UnusableResult(f"the query returned {found}")
        return found


@dataclass(frozen=True)
class Comparison:
    """``left OP right``."""

    left: Operand
    op: str
    right: Operand

    def holds(self, values: tuple[float, ...]) -> bool:
        """Whether the comparison holds for ``values``."""
        return _COMPARE[self.op](self.left.value(values), self.right.value(values))


@dataclass(frozen=True)
class Logic:
    """``left && right`` or ``left || right``."""

    left: Node
    op: str  # "and" | "or"
    right: Node

    def holds(self, values: tuple[float, ...]) -> bool:
        """Both (and) or either (or) side holds; every side must be answerable."""
        left, right = self.left.holds(values), self.right.holds(values)
        return (left and right) if self.op == "and" else (left or right)


Node = Union[Comparison, Logic]


@dataclass(frozen=True)
class Condition:
    """A parsed success or failure condition; ``text`` is what the user wrote."""

    text: str
    tree: Node

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``text``; raises ExpressionError on anything outside the grammar."""
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("the condition is empty")
        parser = _Parser(_tokens(text), text)
        tree = parser.expression()
        parser.expect_end()
        return cls(text.strip(), tree)

    def holds(self, values: tuple[float, ...]) -> bool:
        """Evaluate over a query's values; raises UnusableResult when they cannot answer it."""
        return self.tree.holds(values)

    def __str__(self) -> str:
        return self.text


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read the condition at {text[pos:].strip()[:20]!r} "
                                  "(allowed: result, result[N], numbers, >= <= > < == !=, && ||, parentheses)")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent: or -> and -> comparison | ( or )."""

    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens, self.pos, self.text = tokens, 0, text

    def peek(self) -> tuple[str, str]:
        """The next token (``("end", "")`` past the last)."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        """Consume and return the next token."""
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, what: str) -> ExpressionError:
        """The error saying what was expected where."""
        return ExpressionError(f"condition {self.text.strip()!r}: expected {what}, found {self.peek()[1] or 'the end'}")

    def expect_end(self) -> None:
        """Refuse anything left after a complete condition."""
        if self.peek()[0] != "end":
            raise self.fail("the end")

    def expression(self) -> Node:
        """``conjunction (|| conjunction)*``."""
        node = self.conjunction()
        while self.peek()[0] == "logic" and self.peek()[1] in ("||", "or"):
            self.take()
            node = Logic(node, "or", self.conjunction())
        return node

    def conjunction(self) -> Node:
        """``term (&& term)*``."""
        node = self.term()
        while self.peek()[0] == "logic" and self.peek()[1] in ("&&", "and"):
            self.take()
            node = Logic(node, "and", self.term())
        return node

    def term(self) -> Node:
        """``( expression )`` or ``operand OP operand``."""
        if self.peek() == ("punct", "("):
            self.take()
            node = self.expression()
            if self.take() != ("punct", ")"):
                raise self.fail("')'")
            return node
        left = self.operand()
        kind, op = self.take()
        if kind != "op":
            self.pos -= 1
            raise self.fail("a comparison (>=, <=, >, <, ==, !=)")
        right = self.operand()
        if left.number is not None and right.number is not None:
            raise ExpressionError(f"condition {self.text.strip()!r} compares two numbers, never the result")
        return Comparison(left, op, right)

    def operand(self) -> Operand:
        """``result``, ``result[N]`` or a number."""
        kind, text = self.take()
        if kind == "number":
            return Operand(number=float(text))
        if kind != "result":
            self.pos -= 1
            raise self.fail("result, result[N] or a number")
        if self.peek() != ("punct", "["):
            return Operand()
        self.take()
        kind, index = self.take()
        if kind != "number" or not index.isdigit() or self.take() != ("punct", "]"):
            raise ExpressionError(f"condition {self.text.strip()!r}: result[N] needs a whole number N")
        return Operand(index=int(index))
