"""The package version (one place; read by pyproject via setuptools dynamic is not used)."""

__version__ = "0.1.0"
