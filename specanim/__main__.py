"""``python -m specanim``."""

from specanim.cli import run

if __name__ == "__main__":  # render workers import this module too
    run()
