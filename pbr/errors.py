"""Errors and warnings raised by pbr.

Every error names what is wrong, where (table, column, row or field) and how to fix it.

The tree::

    PbrError (Exception)
    ├── SchemaError        an input table lacks a column, has the wrong type, or bad rows
    ├── SpecError          an invalid MeasureSpec field or combination
    │   └── ContractError  an invalid contract field (names the field and the fix)
    ├── PeriodError        a period string that cannot be parsed
    ├── SeverityError      an offence code with no severity weight under unmapped="error"
    ├── EngineError        an engine name that does not exist, or engines that disagree
    └── ReconciliationError  payment statement lines that do not add up to its totals

    PbrWarning (UserWarning)
    └── IncompleteDataWarning  a rule could not be applied because the data lack a column
"""

from __future__ import annotations

__all__ = [
    "ContractError",
    "EngineError",
    "IncompleteDataWarning",
    "PbrError",
    "PbrWarning",
    "PeriodError",
    "ReconciliationError",
    "SchemaError",
    "SeverityError",
    "SpecError",
]


class PbrError(Exception):
    """Base class of every error raised by pbr."""


class SchemaError(PbrError, ValueError):
    """An input table does not meet pbr's column contract (see :mod:`pbr.schema`)."""


class SpecError(PbrError, ValueError):
    """A specification field is invalid; the message names the field and the fix."""


class PeriodError(SpecError):
    """A period such as ``"12 months"`` could not be parsed."""


class SeverityError(PbrError, ValueError):
    """Qualifying offences have codes missing from the severity weight table."""


class EngineError(PbrError, ValueError):
    """An unknown engine was requested."""


class ContractError(SpecError):
    """A contract field is invalid; the message names the field and the fix."""


class ReconciliationError(PbrError, ArithmeticError):
    """A payment statement's lines do not add up to its totals exactly."""


class PbrWarning(UserWarning):
    """Base class of every warning issued by pbr (also kept in results' ``notes``)."""


class IncompleteDataWarning(PbrWarning):
    """A rule of the specification could not be applied to the data given."""
