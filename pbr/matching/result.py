"""MatchResult: the matched comparison group with its pairs, weights and provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from pbr.data import Exclusions
from pbr.errors import SchemaError, SpecError
from pbr.matching.propensity import PropensityModel
from pbr.matching.spec import MatchSpec

if TYPE_CHECKING:
    from pbr.matching.balance import BalanceResult
    from pbr.matching.effects import EffectResult

__all__ = ["MatchResult"]


@dataclass(frozen=True)
class MatchResult:
    """A matched comparison group.

    Attributes
    ----------
    frame
        Every unit considered (input row order), its columns plus ``ps`` (the propensity
        score, when there is one), ``weight`` (ATT weight: 1 for matched treated units; a
        control's weight is the sum over its matches of ``1 / (controls of that treated
        unit)``, rescaled so matched controls' weights average 1 as in MatchIt; 0 if
        unmatched), ``subclass`` (the pair / match group or stratum; null for controls
        matched with replacement), ``matched`` and ``discarded`` (outside common
        support).
    pairs
        One row per (treated, control) pair: ``treated_id``, ``control_id``,
        ``distance``, ``subclass``, ``round`` (1..ratio) and ``pair_weight``.  Empty for
        the exact and CEM methods (which form strata, not pairs).
    spec
        The :class:`MatchSpec` applied.
    model
        The fitted :class:`~pbr.matching.propensity.PropensityModel` (None with a
        user-supplied score or no model).
    caliper
        The caliper in the distance's own units (None: no caliper).
    exclusions
        Input rows left out (missing covariates under ``missing="drop"``).
    notes
        Warnings kept in the record (e.g. a propensity model that did not converge).

    Examples
    --------
    Two treated units matched in data order to their nearest controls on a supplied
    score; two controls are left unmatched (weight 0).

    >>> import polars as pl, pbr
    >>> df = pl.DataFrame({"id": [1, 2, 3, 4, 5, 6], "t": [1, 1, 0, 0, 0, 0],
    ...                    "s": [0.8, 0.4, 0.75, 0.45, 0.1, 0.9]})
    >>> m = pbr.match(df, "t", score="s", id="id", order="data")
    >>> m.pairs.select("treated_id", "control_id", "subclass").rows()
    [(1, 3, 1), (2, 4, 2)]
    >>> m.frame["weight"].to_list()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    >>> print(m.explain(1))
    unit 1: treated, propensity score 0.800000, weight 1, subclass 1
      pair with control 3: distance 0.05 (propensity), round 1, subclass 1, pair weight 1
    >>> print(m.explain(5))
    unit 5: control, propensity score 0.100000, weight 0, subclass None
      unmatched: not the nearest available control of any treated unit
    """

    frame: pl.DataFrame
    pairs: pl.DataFrame
    spec: MatchSpec
    model: PropensityModel | None
    caliper: float | None
    exclusions: Exclusions = field(default_factory=Exclusions)
    notes: tuple[str, ...] = ()
    balance_columns: tuple[str, ...] = ()
    input_columns: tuple[str, ...] = ()

    # ------------------------------------------------------------------ views
    @property
    def treated(self) -> np.ndarray:
        """Boolean treatment indicator per unit of ``frame``."""
        return self.frame[self.spec.treatment].cast(pl.Boolean).to_numpy()

    @property
    def matched_frame(self) -> pl.DataFrame:
        """The matched units (weight > 0), MatchIt's ``match.data()``."""
        return self.frame.filter(pl.col("weight") > 0)

    def pair_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Row positions in ``frame`` of each pair's treated unit and control."""
        index = self.frame.select(pl.col(self.spec.id).alias("_id")).with_row_index("_pos")

        def rows(column: str) -> np.ndarray:
            joined = self.pairs.select(pl.col(column).alias("_id")).join(
                index, on="_id", how="left", maintain_order="left")
            return joined["_pos"].to_numpy().astype(np.int64)

        return rows("treated_id"), rows("control_id")

    def to_frame(self) -> pl.DataFrame:
        """The per-unit frame (polars)."""
        return self.frame

    def to_pandas(self) -> Any:
        """The per-unit frame as a pandas DataFrame."""
        return self.frame.to_pandas()

    def cohort(self) -> pl.DataFrame:
        """Matched units as a cohort for :func:`pbr.measure`: ``offender_id``,
        ``index_date`` (each unit's own qualifying event date: comparison offenders keep
        theirs as a pseudo index date, so outcomes are measured over the same kind of
        window), ``treated``, ``weight`` and ``subclass``."""
        if self.spec.index_date not in self.frame.columns:
            raise SchemaError(f"column {self.spec.index_date!r} (index_date) is not in the "
                              "matched data; pass index_date='<column>' to pbr.match")
        return self.matched_frame.select(
            pl.col(self.spec.id).alias("offender_id"),
            pl.col(self.spec.index_date).alias("index_date"),
            pl.col(self.spec.treatment).cast(pl.Boolean).alias("treated"),
            "weight", "subclass")

    # ------------------------------------------------------------------ summaries
    def sample_sizes(self) -> pl.DataFrame:
        """Units per group: all, matched, effective (ESS), unmatched, discarded."""
        t = self.treated
        w = self.frame["weight"].to_numpy()
        disc = self.frame["discarded"].to_numpy()
        rows = []
        for label, mask in (("all", np.ones(t.size, bool)), ("matched", w > 0),
                            ("unmatched", (w == 0) & ~disc), ("discarded", disc)):
            rows.append((label, float((mask & ~t).sum()), float((mask & t).sum())))
        ess = [float(w[g].sum() ** 2 / (w[g] ** 2).sum()) if (w[g] > 0).any() else 0.0
               for g in (~t, t)]
        rows.insert(2, ("matched (ESS)", ess[0], ess[1]))
        return pl.DataFrame(rows, schema=["sample", "control", "treated"], orient="row")

    def summary(self, by: str | list[str] | None = None) -> pl.DataFrame:
        """The sample sizes table (see :meth:`sample_sizes`); with ``by``, per group:
        treated, matched treated, matched controls and their weight, discarded."""
        if by is None:
            return self.sample_sizes()
        keys = [by] if isinstance(by, str) else list(by)
        for k in keys:
            if k not in self.frame.columns:
                raise SpecError(f"summary(by=...): no column {k!r}")
        t = pl.col(self.spec.treatment).cast(pl.Boolean)
        m = pl.col("weight") > 0
        return self.frame.group_by(keys).agg(
            t.sum().cast(pl.Int64).alias("treated"),
            (t & m).sum().cast(pl.Int64).alias("treated_matched"),
            (~t & m).sum().cast(pl.Int64).alias("controls_matched"),
            pl.col("weight").filter(~t).sum().alias("control_weight"),
            pl.col("discarded").sum().cast(pl.Int64).alias("discarded"),
        ).sort(keys, nulls_last=True)

    def balance(self, covariates: list[str] | None = None) -> BalanceResult:
        """Covariate balance before and after matching (:func:`pbr.matching.balance`)."""
        from pbr.matching.balance import balance

        return balance(self, covariates)

    def effect(self, outcomes: Any, outcome: str, **options: Any) -> EffectResult:
        """The ATT on an outcome (:func:`pbr.matching.estimate_effect`)."""
        from pbr.matching.effects import estimate_effect

        return estimate_effect(self, outcomes, outcome, **options)

    # ------------------------------------------------------------------ explain
    def explain(self, unit_id: Any) -> str:
        """Why a unit has its controls (or none), its weight and subclass."""
        s = self.spec
        row = self.frame.filter(pl.col(s.id) == unit_id)
        if row.height == 0:
            raise SpecError(f"unit {unit_id!r} is not in the matched data")
        r = row.row(0, named=True)
        score = "" if r.get("ps") is None else f", propensity score {r['ps']:.6f}"
        lines = [f"unit {unit_id}: {'treated' if r[s.treatment] else 'control'}{score}, "
                 f"weight {r['weight']:.4g}, subclass {r['subclass']}"]
        if r["discarded"]:
            lines.append(f"  discarded: propensity score outside the common support "
                         f"(discard={s.discard!r})")
        side, other = ("treated_id", "control_id") if r[s.treatment] else \
            ("control_id", "treated_id")
        pairs = self.pairs.filter(pl.col(side) == unit_id).sort(["subclass", "round"])
        for p in pairs.iter_rows(named=True):
            lines.append(f"  pair with {other[:-3]} {p[other]}: distance {p['distance']:.6g} "
                         f"({s.distance}), round {p['round']}, subclass {p['subclass']}, "
                         f"pair weight {p['pair_weight']:.4g}")
        if s.method != "nearest" and r["subclass"] is not None:
            n = self.frame.filter(pl.col("subclass") == r["subclass"])
            nt = int(n[s.treatment].cast(pl.Int64).sum())
            lines.append(f"  {s.method} stratum with {nt} treated and {n.height - nt} control "
                         "unit(s)")
        elif pairs.height == 0 and not r["discarded"]:
            pool = self.frame.filter(~pl.col(s.treatment).cast(pl.Boolean)
                                     & ~pl.col("discarded"))
            for c in s.exact:
                pool = pool.filter(pl.col(c) == r[c])
            if pool.height == 0:
                why = f"no comparison unit in its exact stratum ({', '.join(s.exact)})"
            elif self.caliper is not None:
                why = "no available control within the caliper"
            else:
                why = "every eligible control was already used"
            lines.append(f"  unmatched: {why}" if r[s.treatment] else
                         "  unmatched: not the nearest available control of any treated unit")
        if self.caliper is not None:
            lines.append(f"  caliper {self.caliper:.6g} on the {s.distance} distance")
        return "\n".join(lines)

    # ------------------------------------------------------------------ provenance
    @cached_property
    def provenance(self) -> dict[str, Any]:
        """Version, spec (TOML), seed and the input fingerprint (SHA-256 of the units
        considered, after the missing-value rule, in input order)."""
        from pbr._version import __version__
        from pbr.measures import _frame_fingerprint

        text = self.spec.to_toml()
        return {"pbr_version": __version__, "spec": text,
                "spec_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "seed": self.spec.seed,
                "input_sha256": _frame_fingerprint(self.frame.select(self.input_columns)),
                "score": "user" if self.model is None else f"logit: {self.model.formula}"}

    def __str__(self) -> str:
        s = self.spec
        how = {"nearest": f"1:{s.ratio} nearest neighbour "
                          f"{'with' if s.replace else 'without'} replacement",
               "exact": "exact matching", "cem": "coarsened exact matching"}[s.method]
        lines = [f"Matched comparison ({s.name}): {how} on the {s.distance} distance, "
                 f"order {s.order}" + (", ties data (MatchIt's rule on row order)"
                                       if s.ties == "data" else "")]
        if self.caliper is not None:
            lines.append(f"  caliper {self.caliper:.6g} ({s.caliper} {s.caliper_scale})")
        if s.exact:
            lines.append(f"  exact on {', '.join(s.exact)}")
        lines.append(f"  {'sample':<16}{'control':>12}{'treated':>12}")
        for r in self.sample_sizes().iter_rows():
            lines.append(f"  {r[0]:<16}{r[1]:>12,.2f}{r[2]:>12,.2f}" if r[0].endswith(")")
                         else f"  {r[0]:<16}{int(r[1]):>12,}{int(r[2]):>12,}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
