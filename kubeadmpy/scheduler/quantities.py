"""Resource quantities ("100m", "1.5Gi", "2e3") as the integers the scheduler compares.

Upstream keeps quantities as exact decimals and the scheduler reads CPU as millicores
(`MilliValue`) and everything else as whole units (`Value`), both rounded up. We do the same with
`Decimal`, so "0.1" CPU is 100 millicores and "1Ki" memory is 1024 bytes, never a float error.
A quantity the API server should have refused reads as zero plus a `QuantityError`.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from kubeadmpy.errors import UserInputError

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_SHAPE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


class QuantityError(UserInputError):
    """A quantity string that is not in Kubernetes' quantity grammar."""


def parse_quantity(text: str | int | float, field: str = "quantity") -> Decimal:
    """The exact value of a quantity; a number (the JSON form some clients send) is accepted."""
    if isinstance(text, int | float):
        return Decimal(str(text))
    match = _SHAPE.match(text.strip())
    if match is None:
        raise QuantityError(field, f"{text!r} is not a quantity",
                            "use a number with an optional suffix such as 100m, 512Mi or 2")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        value = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise QuantityError(field, f"{text!r} is not a quantity") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    return value * (Decimal(10) ** int(suffix[1:]))


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def milli_value(text: str | int | float, field: str = "quantity") -> int:
    """Thousandths of the quantity, rounded up: CPU in millicores."""
    return _ceil(parse_quantity(text, field) * 1000)


def whole_value(text: str | int | float, field: str = "quantity") -> int:
    """The quantity in whole units, rounded up: bytes, pods, devices."""
    return _ceil(parse_quantity(text, field))


def lenient(text: object, milli: bool) -> int:
    """Read a quantity from an object the API already accepted; garbage counts as zero."""
    if not isinstance(text, str | int | float):
        return 0
    try:
        return milli_value(text) if milli else whole_value(text)
    except QuantityError:
        return 0


# --- canonical text (what upstream's Quantity.String() prints) ---------------------------------

BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T",
                     15: "P", 18: "E"}


def quantity_format(text: str | int | float) -> str:
    """The format a quantity keeps when printed: the kind of suffix it was written with."""
    if not isinstance(text, str):
        return DECIMAL_SI
    match = _SHAPE.match(text.strip())
    suffix = (match.group(2) if match else "") or ""
    if suffix in _BINARY:
        return BINARY_SI
    return DECIMAL_EXPONENT if suffix[:1] in ("e", "E") and suffix not in _DECIMAL \
        else DECIMAL_SI


def format_quantity(value: Decimal, fmt: str = DECIMAL_SI) -> str:
    """Upstream's canonical form: "1500m", "2k", "1536Mi", "0". Binary values that are not
    whole or are below 1024 print as decimal, as upstream does to avoid rounding."""
    if value == 0:
        return "0"
    if fmt == BINARY_SI and abs(value) >= 1024 and value == value.to_integral_value():
        number, power = int(value), 0
        while power < len(_BINARY_SUFFIXES) - 1 and number % 1024 == 0:
            number //= 1024
            power += 1
        return f"{number}{_BINARY_SUFFIXES[power]}"
    # smallest multiple-of-three exponent (from nano) that keeps the mantissa whole, then
    # the largest one that still does: 2000 → 2k, 1500 → 1500, 0.1 → 100m
    nanos = (value * Decimal("1e9")).to_integral_value(rounding=ROUND_CEILING)
    exponent = -9
    while exponent < 18 and nanos % 1000 == 0:
        nanos //= 1000
        exponent += 3
    suffix = _DECIMAL_SUFFIXES[exponent] if fmt != DECIMAL_EXPONENT else \
        (f"e{exponent}" if exponent else "")
    return f"{int(nanos)}{suffix}"


def canonical(text: str | int | float, field: str = "quantity") -> str:
    """A quantity as upstream prints it ("1000m" → "1", "1.5Gi" → "1536Mi")."""
    return format_quantity(parse_quantity(text, field), quantity_format(text))
