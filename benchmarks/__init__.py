"""Benchmarks of pbr against pandas, polars and DuckDB (not part of the package)."""
