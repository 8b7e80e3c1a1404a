"""specanim: animate how a dimensionality reduction learns its layout, from a YAML scene spec."""

from specanim.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
