"""``python -m specanim``."""

from specanim.cli import main

main()
