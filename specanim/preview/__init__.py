"""``specanim preview SPEC``: a page on this machine that shows the spec's real frames while it is
written, updated when the spec, a spec it extends or one of its local plugins is saved.

``from specanim import preview`` gives ``serve``; the page polls ``/state`` (see server.py).
"""

from specanim.preview.server import serve

__all__ = ["serve"]
