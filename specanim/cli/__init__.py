"""The ``specanim`` command: parses, calls the engine and reports; nothing else."""

from specanim.cli.main import cli, main, run

__all__ = ["cli", "main", "run"]
