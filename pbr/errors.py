"""Errors and warnings raised by pbr.

Every error names what is wrong, where (table, column, row or field) and how to fix it.

The tree::

    PbrError (Exception)
    ├── SchemaError        an input table lacks a column, has the wrong type, or bad rows
    ├── SpecError          an invalid spec field or combination (measure, cohort rule,
    │   │                  comparison, match, scheme, baseline)
    │   ├── ContractError  an invalid contract field (names the field and the fix)
    │   └── PeriodError    a period (``"12 months"``) that cannot be parsed, or date
    │                      arithmetic past the supported day range
    ├── SeverityError      an offence code with no severity weight under unmapped="error"
    ├── EngineError        an engine name that does not exist
    ├── ReconciliationError  payment statement lines that do not add up to its totals
    └── AuditError         a manifest that cannot be read (truncated, foreign, another
                           format), or an output pbr will not write as asked

    PbrWarning (UserWarning)
    ├── IncompleteDataWarning  a rule could not be applied because the data lack a column
    ├── DataQualityWarning     values pbr may not read as meant: a vocabulary that barely
    │                          matches, implausible dates, ids that barely join, duplicates
    ├── CompletenessWarning    follow-up windows that close after the data extract ends
    ├── SmallSampleWarning     a group too small for the test or the scheme's minimum n
    └── ProvisionalWarning     figures (or payments) on windows that have not closed

Every warning pbr issues is also kept in the result's ``notes`` (and carried into a
payment statement and its manifest), so a warning filtered out by the caller is never
lost from the record.

Exit codes of the command line: 0 success, 1 ``pbr verify`` found differences, 2 bad
input (any :class:`PbrError`, a missing or unreadable file), 3 internal error (a bug in
pbr: anything else; ``--debug`` shows the traceback).
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "CompletenessWarning",
    "ContractError",
    "DataQualityWarning",
    "EngineError",
    "IncompleteDataWarning",
    "PbrError",
    "PbrWarning",
    "PeriodError",
    "ProvisionalWarning",
    "ReconciliationError",
    "SchemaError",
    "SeverityError",
    "SmallSampleWarning",
    "SpecError",
]


class PbrError(Exception):
    """Base class of every error raised by pbr."""


class SchemaError(PbrError, ValueError):
    """An input table does not meet pbr's column contract (see :mod:`pbr.schema`)."""


class SpecError(PbrError, ValueError):
    """A specification field is invalid; the message names the field and the fix."""


class PeriodError(SpecError):
    """A period such as ``"12 months"`` could not be parsed, or a date moved by a period
    left the supported day range; a :class:`SpecError`, so ``except SpecError`` catches
    it with every other bad spec field."""


class SeverityError(PbrError, ValueError):
    """Qualifying offences have codes missing from the severity weight table."""


class EngineError(PbrError, ValueError):
    """An unknown engine was requested (``engine=`` is ``"numba"`` or ``"polars"``)."""


class ContractError(SpecError):
    """A contract field is invalid; the message names the field and the fix."""


class ReconciliationError(PbrError, ArithmeticError):
    """A payment statement's lines do not add up to its totals exactly."""


class AuditError(PbrError, ValueError):
    """A manifest cannot be read (truncated, foreign, another format), or an output
    cannot be written as asked (an Excel cell over 32,767 characters)."""


class PbrWarning(UserWarning):
    """Base class of every warning issued by pbr (also kept in results' ``notes``)."""


class IncompleteDataWarning(PbrWarning):
    """A rule of the specification could not be applied to the data given."""


class DataQualityWarning(PbrWarning):
    """Values pbr may not read as the user meant (vocabulary, dates, joins, duplicates)."""


class CompletenessWarning(PbrWarning):
    """Follow-up windows close after the data extract ends (``as_of``), so counts are low."""


class SmallSampleWarning(PbrWarning):
    """A group is too small for the test used, or below the scheme's minimum size."""


class ProvisionalWarning(PbrWarning):
    """Figures or payments rest on windows that have not closed: provisional, not final."""
