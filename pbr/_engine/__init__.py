"""The measure engine (private, layer 2): staging, tables, the kernel calls and the
one-call path, below :mod:`pbr.prepare` and :mod:`pbr.measures`.

* :mod:`~pbr._engine.stage`: validated inputs and the global window, then the event
  columns either as window-filtered arrays (``prepare``) or as zero-copy pieces (the
  one-call measure);
* :mod:`~pbr._engine.layout`: the grouped layout (:class:`~pbr._engine.layout.Layout`,
  the fields of ``Histories``) and the values derived from it;
* :mod:`~pbr._engine.tables`: a spec as the kernels' lookup and window tables, and the
  output arrays;
* :mod:`~pbr._engine.grouped`: ``prepare``'s join and the measure kernel over a layout;
* :mod:`~pbr._engine.onepass`: the join fused with the measure, for one spec once.
"""

