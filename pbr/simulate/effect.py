"""The true effect of the intervention, as the simulation applies it.

An :class:`Effect` is a relative reduction in the probability of any proven reoffence
(``p``) and in the later reoffences of those who still reoffend (``frequency``), under
the hurdle model of :mod:`pbr.simulate.population`: an offender's probability becomes
``p (1 - e_p)`` and a reoffender's mean later reoffences ``m (1 - e_f)``.  The expected
reoffences per offender then fall from ``p (1 + m)`` to ``p (1 - e_p)(1 + m (1 - e_f))``.
``by_band`` scales both reductions per risk decile (1 lowest to 10 highest risk).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbr.errors import SpecError

__all__ = ["Effect"]


@dataclass(frozen=True)
class Effect:
    """Relative reductions the intervention truly achieves.

    Parameters
    ----------
    p
        Relative reduction in the probability of any reoffence (0.10: 10% fewer
        reoffenders), from -1 to 1 (negative: harm).
    frequency
        Relative reduction in the later reoffences of reoffenders, from -1 to 1.
    by_band
        Risk decile (1..10) -> factor applied to both reductions in that decile
        (deciles not listed: 1); e.g. ``{1: 0.5, 10: 1.5}``.
    name
        Label in the result tables (default from the values, e.g. ``"p 10%, freq 5%"``).

    Examples
    --------
    >>> Effect(p=0.10, frequency=0.05).label
    'p 10%, frequency 5%'
    >>> Effect.none().label
    'none'
    """

    p: float = 0.0
    frequency: float = 0.0
    by_band: tuple[tuple[int, float], ...] | Mapping[int, float] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        for f in ("p", "frequency"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | float) or not -1 <= v <= 1:
                raise SpecError(f"effect.{f}: a relative reduction from -1 to 1 (0.10 for "
                                f"10%), got {v!r}")
            object.__setattr__(self, f, float(v))
        band: Any = self.by_band
        if band is None:
            band = ()
        if isinstance(band, Mapping):
            band = tuple(sorted(band.items()))
        out = []
        for k, v in band:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10:
                raise SpecError(f"effect.by_band: keys are risk deciles 1 to 10, got {k!r}")
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0:
                raise SpecError(f"effect.by_band[{k}]: a factor >= 0, got {v!r}")
            out.append((k, float(v)))
        object.__setattr__(self, "by_band", tuple(out))
        for k, v in out:
            for f in ("p", "frequency"):
                if not -1 <= getattr(self, f) * v <= 1:
                    raise SpecError(f"effect.by_band[{k}]: {v} x {f} "
                                    f"{getattr(self, f)} is outside -1 to 1")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise SpecError(f"effect.name: a non-empty label, got {self.name!r}")

    @property
    def _bands(self) -> tuple[tuple[int, float], ...]:
        assert isinstance(self.by_band, tuple)   # made a tuple on construction
        return self.by_band

    @classmethod
    def none(cls) -> Effect:
        """The null case: no effect."""
        return cls(0.0, 0.0, name="none")

    @property
    def is_null(self) -> bool:
        return self.p == 0 and self.frequency == 0

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        if self.is_null and not self.by_band:
            return "none"
        out = f"p {self.p * 100:g}%"
        out += f", frequency {self.frequency * 100:g}%"
        if self.by_band:
            out += " by band " + ",".join(f"{k}:{v:g}" for k, v in self._bands)
        return out

    def factors(self, decile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per offender: the multipliers ``1 - e_p`` and ``1 - e_f`` (by risk decile)."""
        scale = np.ones(11)
        for k, v in self._bands:
            scale[k] = v
        s = scale[decile.astype(np.int64)]
        return 1.0 - self.p * s, 1.0 - self.frequency * s

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.p, "frequency": self.frequency,
                "by_band": {str(k): v for k, v in self._bands}, "label": self.label}
