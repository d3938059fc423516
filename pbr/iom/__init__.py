"""Integrated Offender Management: membership with rolling entry and exit, and
before-and-after measures of offending, harm and custody (docs/methodology/local.md).

==================  ===============================================================
module              owns
==================  ===============================================================
``membership``      :class:`Membership`: the validated membership table
``prepost``         :func:`before_after` and :class:`BeforeAfter`
==================  ===============================================================
"""

from __future__ import annotations

from pbr.iom.membership import Membership
from pbr.iom.prepost import NOT_AN_EFFECT, BeforeAfter, before_after

__all__ = ["NOT_AN_EFFECT", "BeforeAfter", "Membership", "before_after"]
