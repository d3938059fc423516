"""Provider behaviour the contract may invite: cherry-picking, parking, creaming.

Each behaviour is a rule on the referred population of one contract area and cohort
(docs/methodology/simulation.md; the terms after [Carter-Whitworth-2015]):

* ``none``: every referral joins the cohort and receives the intervention.
* ``cherry_picking(share)``: the provider takes on only the lowest-risk ``share`` of its
  referrals (the ``ceil(share x N)`` with the smallest ``p``, ties in row order); the
  cohort the contract measures is that subset, all of whom receive the effect.
* ``parking()``: effort only until the first reoffence.  The effect on ``p`` (reaching
  the first reoffence at all) is delivered in full; once someone has reoffended the
  provider stops working with them, so the frequency effect (on the later reoffences of
  reoffenders) is not delivered to anyone.  Under a binary measure this costs the
  provider nothing; under a frequency measure it does.
* ``creaming(share)``: the provider serves only the lowest-risk ``share`` of its cohort
  (those easiest to help); every referral stays in the measured cohort but only those
  served receive the effect (on ``p`` and on frequency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr.errors import SpecError

__all__ = ["BEHAVIOURS", "Behaviour"]

BEHAVIOURS = ("none", "cherry_picking", "parking", "creaming")


@dataclass(frozen=True)
class Behaviour:
    """A provider behaviour (build with the class methods).

    Examples
    --------
    >>> Behaviour.cherry_picking(share=0.8).label
    'cherry-picking 80%'
    >>> import numpy as np
    >>> keep, ep, ef = Behaviour.creaming(0.5).apply(np.array([0.4, 0.1, 0.3, 0.2]))
    >>> keep.tolist(), ep.tolist(), ef.tolist()
    ([True, True, True, True], [False, True, False, True], [False, True, False, True])
    """

    kind: str = "none"
    share: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in BEHAVIOURS:
            raise SpecError(f"behaviour.kind: one of {', '.join(BEHAVIOURS)}, got {self.kind!r}")
        needs = self.kind in ("cherry_picking", "creaming")
        if needs:
            s = self.share
            if isinstance(s, bool) or not isinstance(s, int | float) or not 0 < s <= 1:
                raise SpecError(f"behaviour.share: {self.kind} needs the share of the cohort "
                                f"(0 < share <= 1, e.g. 0.8), got {s!r}")
            object.__setattr__(self, "share", float(s))
        elif self.share is not None:
            raise SpecError(f"behaviour.share: {self.kind} takes no share, got {self.share!r}")

    @classmethod
    def none(cls) -> Behaviour:
        """No gaming: every referral joins and receives the intervention."""
        return cls("none")

    @classmethod
    def cherry_picking(cls, share: float = 0.8) -> Behaviour:
        """Take on only the lowest-risk ``share`` of the referrals."""
        return cls("cherry_picking", share)

    @classmethod
    def parking(cls) -> Behaviour:
        """Effort only until the first reoffence (no effect on later reoffences)."""
        return cls("parking")

    @classmethod
    def creaming(cls, share: float = 0.5) -> Behaviour:
        """Serve only the lowest-risk ``share`` of the cohort."""
        return cls("creaming", share)

    @property
    def label(self) -> str:
        if self.kind in ("none", "parking"):
            return self.kind
        assert self.share is not None
        return f"{self.kind.replace('_', '-')} {self.share * 100:g}%"

    def apply(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the referrals of one area and cohort (their risks ``p``): who joins the
        cohort, who receives the effect on ``p`` and who on frequency (three masks)."""
        n = p.size
        everyone = np.ones(n, dtype=bool)
        if self.kind == "none":
            return everyone, everyone.copy(), everyone.copy()
        if self.kind == "parking":
            return everyone, everyone.copy(), np.zeros(n, dtype=bool)
        assert self.share is not None
        low = np.zeros(n, dtype=bool)
        low[np.argsort(p, kind="stable")[:math.ceil(self.share * n - 1e-9)]] = True
        if self.kind == "cherry_picking":
            return low, low.copy(), low.copy()
        return everyone, low, low.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "share": self.share, "label": self.label}
