"""The animation as one self-contained HTML page a reader explores: play, scrub, hover a point,
zoom and pan, highlight a class. The page's vector parts are drawn by Vega from the frames'
own Vega-Lite; its points by a canvas of the page, placed in the boxes Vega computed.

``write(prepared)`` writes the page of a prepared scene to its output (with its manifest);
``html(prepared)`` is the page as text.
"""

from specanim.explore.page import check_request, html, is_page, write

__all__ = ["check_request", "html", "is_page", "write"]
