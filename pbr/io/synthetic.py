"""Write a synthetic data set (:func:`pbr.synth.generate`) as files ``pbr measure`` reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl
import tomli_w

from pbr.areas import example_hierarchy
from pbr.errors import SchemaError
from pbr.io.specs import write_spec
from pbr.io.tables import write_table
from pbr.spec import MeasureSpec, preset

__all__ = ["SYNTH_PRESET", "synth_spec", "write_synth"]

#: the preset the synthetic spec (``spec.toml``) starts from
SYNTH_PRESET = "moj_national_2017"


def _weights(w: Any) -> dict[str, float]:
    """A code -> weight dict from a mapping, a two-column frame or (code, weight) pairs."""
    if isinstance(w, pl.DataFrame):
        code = "offence_code" if "offence_code" in w.columns else w.columns[0]
        weight = next(c for c in w.columns if c != code and w[c].dtype.is_numeric())
        return dict(zip(w[code].cast(pl.String).to_list(),
                        w[weight].cast(pl.Float64).to_list(), strict=True))
    items = w.items() if isinstance(w, Mapping) else w
    return {str(k): float(v) for k, v in items}


def synth_spec(data: Any, base: str = SYNTH_PRESET) -> MeasureSpec:
    """A preset with the synthetic data's severity weights and serious-offence codes.

    Examples
    --------
    >>> import pbr
    >>> spec = synth_spec(pbr.synth.generate(100, seed=1))
    >>> spec.severity_weights is not None
    True
    """
    return preset(base).replace(name=f"synth_{base}",
                                severity_weights=_weights(data.severity_weights),
                                serious_codes=[str(c) for c in data.serious_codes])


def write_synth(data: Any, directory: str | Path,
                format: Literal["parquet", "csv"] = "parquet") -> dict[str, Path]:
    """Write a synthetic data set to a directory, ready for ``pbr measure``.

    Files: ``cohort``, ``events`` and (when the data have one) ``custody`` tables as
    ``.parquet`` or ``.csv``; ``areas`` (the synthetic area hierarchy, area -> PCC area ->
    package area -> region, :func:`pbr.areas.example_hierarchy`: not real boundaries)
    in the same format; ``severity_weights.toml`` (the ``[severity_weights]``
    table and the ``serious_codes`` list); ``spec.toml``, the MoJ 2017 preset with
    those weights and codes (:func:`synth_spec`).  Every file is byte-for-byte
    reproducible.

    Parameters
    ----------
    data
        The result of :func:`pbr.synth.generate`.
    directory
        Target directory (created if needed); existing files of these names are
        replaced.
    format
        ``"parquet"`` (default) or ``"csv"``.

    Returns
    -------
    dict
        File role (``"cohort"``, ``"events"``, ``"custody"``, ``"areas"``,
        ``"severity_weights"``, ``"spec"``) -> path written.

    Examples
    --------
    >>> import tempfile, pbr
    >>> paths = write_synth(pbr.synth.generate(100, seed=1), tempfile.mkdtemp(), "csv")
    >>> sorted(paths)
    ['areas', 'cohort', 'custody', 'events', 'severity_weights', 'spec']
    """
    if format not in ("parquet", "csv"):
        raise SchemaError(f"format must be 'parquet' or 'csv', got {format!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in ("cohort", "events", "custody"):
        table = getattr(data, name, None)
        if table is not None:
            paths[name] = write_table(table, directory / f"{name}.{format}")
    paths["areas"] = write_table(example_hierarchy().frame, directory / f"areas.{format}")
    spec = synth_spec(data)
    weights = {"severity_weights": dict(spec.severity_weights or ()),
               "serious_codes": list(spec.serious_codes)}
    paths["severity_weights"] = directory / "severity_weights.toml"
    paths["severity_weights"].write_text(tomli_w.dumps(weights), encoding="utf-8")
    paths["spec"] = write_spec(spec, directory / "spec.toml")
    return paths
