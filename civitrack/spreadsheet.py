"""One rule for text that may be opened in a spreadsheet (CSV injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as
a formula by Excel, LibreOffice and Google Sheets; a leading apostrophe makes it text.
Every CSV the project writes passes each text cell through ``neutralize``; the review
export in orchestration/views.py (``_csv_cell``) applies the same rule.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """``value`` as CSV text that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text
