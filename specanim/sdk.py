"""The plugin SDK: everything a specanim plugin imports, in one place.

``from specanim.sdk import Panel, Options, Frame, Box, RasterLayer, hookimpl`` is the stable
surface for plugin authors (see docs/plugins.md); the modules behind it may move. A plugin is a
module with ``@hookimpl`` functions (see ``specanim.hookspecs``) that register component classes:

    class LegendOptions(Options):
        columns: int = Field(1, ge=1, description="classes per row")

    class Legend(Panel[LegendOptions]):
        \"\"\"One label per class.\"\"\"
        name = "legend"

        def view(self, frame: Frame, box: Box) -> View:
            ...

    @hookimpl
    def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
        register(Legend)
"""

from specanim.archives import read_archive, write_archive
from specanim.components import (
    KINDS,
    Box,
    Component,
    Data,
    Dataset,
    Draw,
    Drawn,
    DrawsAhead,
    Encoder,
    Executor,
    Frame,
    FrameSink,
    Kind,
    Options,
    Panel,
    Progress,
    RasterLayer,
    Reducer,
    Scene,
    Step,
    Trajectory,
    View,
    ViewPart,
    ahead_of,
    draw_with,
)
from specanim.density import DensityShader
from specanim.errors import InputError
from specanim.hookspecs import hookimpl
from specanim.palette import check_color, check_continuous, check_scheme, ramp, resolve, rgb
from specanim.raster import PointRasterizer, draw_polylines, encode_png, over, png_data_url
from specanim.template import FRAME_FIELDS, Template, check_template
from specanim.view import Camera, ViewOptions

__all__ = [
    "FRAME_FIELDS",
    "KINDS",
    "Box",
    "Camera",
    "Component",
    "Data",
    "Dataset",
    "DensityShader",
    "Draw",
    "Drawn",
    "DrawsAhead",
    "Encoder",
    "Executor",
    "Frame",
    "FrameSink",
    "InputError",
    "Kind",
    "Options",
    "Panel",
    "PointRasterizer",
    "Progress",
    "RasterLayer",
    "Reducer",
    "Scene",
    "Step",
    "Template",
    "Trajectory",
    "View",
    "ViewOptions",
    "ViewPart",
    "ahead_of",
    "check_color",
    "check_continuous",
    "check_scheme",
    "check_template",
    "draw_polylines",
    "draw_with",
    "encode_png",
    "hookimpl",
    "over",
    "png_data_url",
    "ramp",
    "read_archive",
    "resolve",
    "rgb",
    "write_archive",
]
