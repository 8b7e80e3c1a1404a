"""Drawing a frame: the layout's boxes and cameras, the frame's Vega-Lite, vl-convert for its
vector marks, and the raster layers (points, images) painted where Vega put their boxes."""
