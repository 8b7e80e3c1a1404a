"""``python -m specanim``."""

from specanim.cli import main

if __name__ == "__main__":  # render workers import this module too
    main()
