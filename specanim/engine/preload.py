"""What every render worker needs before its first frame, loaded once in the server process
the workers are forked from (multiprocessing's forkserver) instead of once in each worker:
specanim's rendering modules (0.25 s) and the compiled loops (0.45 s: numba's import, and its
first call, which sets up its CPU target and imports scipy.linalg to look for BLAS).

The server imports this module before it forks any worker. Nothing here may call vl-convert:
its runtime's threads do not survive a fork (a process forked after vl-convert had run hung), so
each worker makes its own first vl-convert call (workers.warm).
"""

from __future__ import annotations

import atexit
import os
import signal

# The process that ran this module: in a worker forked from the server, its parent.
LOADED_IN = os.getpid()

# The server gives each worker it forks the signal handlers it had once its preload ran: so
# workers ignore Ctrl-C, which a terminal sends to the whole process group, from their first
# moment (the parent handles it and ends them), not only once their initialiser has run.
signal.signal(signal.SIGINT, signal.SIG_IGN)

try:
    from specanim import engine  # noqa: F401  (imports the rendering modules)
    from specanim.draw.raster import use_compiled_loops

    use_compiled_loops()
except Exception:  # only a head start: each worker warms up itself, and a problem shows there
    pass


def _exit_at_once() -> None:
    """End the server without tearing its interpreter down (numba's modules: about 0.35 s).
    It exits when the process that started it has ended, and until it has, that process's
    standard streams stay open: a pipe reading them would wait for the teardown. Its workers
    never run this: forkserver's children end with os._exit."""
    os._exit(0)


atexit.register(_exit_at_once)
