"""Renderers that the outer layers lend to the results (layer 0).

A result of the computation layer (a :class:`~pbr.MeasureResult`, a
:class:`~pbr.ComparisonResult`, a payment statement, a contract run, a match) offers
``to_html()``, but HTML belongs to the report layer, which the computation layer must not
import.  The report layer registers its renderer here when it is imported (``import pbr``
imports it), and the result's method asks for it by name: the dependency points inward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register", "render"]

_RENDERERS: dict[str, Callable[..., Any]] = {}


def register(kind: str, renderer: Callable[..., Any]) -> None:
    """Lend ``renderer`` under ``kind`` (``"html"``); the last registration wins."""
    _RENDERERS[kind] = renderer


def render(kind: str, obj: Any, /, **options: Any) -> Any:
    """Render ``obj`` with the renderer registered under ``kind``.

    Raises
    ------
    LookupError
        No renderer of that kind is registered (the report layer was not imported:
        ``import pbr`` imports it).
    """
    try:
        renderer = _RENDERERS[kind]
    except KeyError:
        raise LookupError(f"no {kind!r} renderer registered: import pbr (which imports "
                          "pbr.report) before calling to_html()") from None
    return renderer(obj, **options)
