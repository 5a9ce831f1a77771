"""How the book writes a number: one formatter for tables, prose and figures, with a
fixed number of significant figures and never in e-notation. A leaf module (the
analysis and the book both use it)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["interval", "listed", "number", "signed"]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(x: float, digits: int = 3, sign: bool = False) -> str:
    """``x`` with ``digits`` significant figures, never in e-notation:
    ``number(0.0123456) == "0.0123"``, ``number(12345) == "12,300"``,
    ``number(4.2e-05) == "4.2 × 10⁻⁵"``; ``sign``: a ``+`` before positive values."""
    text = f"{x:{'+' if sign else ''}.{digits}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if 0 < power < 6:  # a large number: written out, grouped by thousands
        return f"{float(text):{'+' if sign else ''},.0f}"
    return f"{mantissa} × 10{str(power).translate(_SUPERSCRIPT)}"


def signed(x: float, digits: int = 3) -> str:
    """``x`` with its sign and ``digits`` significant figures: ``"+0.178"`` (as
    :func:`number`, never in e-notation)."""
    return number(x, digits, sign=True)


def interval(low: float, high: float, digits: int = 3) -> str:
    """An interval of a signed difference: ``"[-0.254, +0.0065]"``."""
    return f"[{signed(low, digits)}, {signed(high, digits)}]"


def listed(items: Sequence[str]) -> str:
    """Items as prose: ``"a"``, ``"a and b"``, ``"a, b and c"``; ``""`` for none."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
