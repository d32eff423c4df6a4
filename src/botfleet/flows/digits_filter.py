"""The `digits` template filter: the digits of a text, as ASCII `0`-`9`, everything else left out.

A number the contact types (an order, a postcode, a phone) comes with what people type around
it: `n° 10 423`, `10 423` with a no-break or thin space (what a French keyboard or phone puts
between thousands), `10423.`, `commande 10423`, or in full-width digits (`１０４２３`, a
Japanese or Chinese keyboard). `replace(' ', '')...isdigit()` refuses the first ones and lets
the last through unchanged, to a shop system that only knows `10423`; `isdigit()` also takes
superscripts (`1042²`). Here every decimal digit of any script (Unicode category Nd: ASCII,
full-width, Arabic-Indic, Devanagari...) becomes its ASCII digit and every other character is
dropped (superscripts and fractions are not Nd). Length checks are then `| length`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from jinja2 import Undefined

__all__ = ["digits"]

#: A decimal digit of any script: for a `str` pattern, `\d` is exactly Unicode category Nd.
_DIGIT = re.compile(r"\d+")


class _AsciiDigits(dict[int, str]):
    """Code point of a decimal digit -> its ASCII digit, for `str.translate`; filled as digits
    of other scripts come up (there are about 660, so it stays small)."""

    def __missing__(self, code: int) -> str:
        ascii_digit = str(unicodedata.decimal(chr(code)))
        self[code] = ascii_digit
        return ascii_digit


_ASCII_DIGITS = _AsciiDigits()


def digits(value: Any) -> str:
    """`{{ message.text | digits }}`: `"n° 10 423"` -> `"10423"`, `"１０４２３"` -> `"10423"`,
    `""` when there is no digit. A whole number (a connector's `10423`) gives its digits;
    anything else that is not text (a list, a missing value) gives `""`.

    The sandbox charges the text's length to the render's budget before this runs and refuses
    a result over its size limit (`_sandbox_limits.guard_filter`), as for every filter.
    """
    if isinstance(value, Undefined):
        str(value)  # a missing value is recorded (warned about) as when it is printed
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    found = "".join(_DIGIT.findall(value))
    return found if found.isascii() else found.translate(_ASCII_DIGITS)
