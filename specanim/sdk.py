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

from specanim.camera import Box, Camera, ViewOptions
from specanim.components import (
    KINDS,
    Component,
    Dataset,
    Encoder,
    Executor,
    FrameSink,
    Kind,
    Panel,
    Reducer,
)
from specanim.draw.density import DensityShader
from specanim.draw.raster import PointRasterizer, draw_polylines, encode_png, over, png_data_url
from specanim.engine.pickling import dumps
from specanim.engine.pool import WorkerPool, call_portably, ctrl_c_held, default_workers, warm
from specanim.errors import (
    InputError,
    RenderError,
    UserError,
    WorkerDied,
    describe_exception,
    did_you_mean,
)
from specanim.hookspecs import hookimpl
from specanim.options import Options, OptionsT
from specanim.spec.palette import check_color, check_continuous, check_scheme, ramp, resolve, rgb
from specanim.spec.template import FRAME_FIELDS, Template, check_template
from specanim.store.archives import read_archive, write_archive
from specanim.store.paths import cache_dir
from specanim.values import (
    Data,
    Frame,
    Progress,
    RasterLayer,
    Scene,
    Step,
    Trajectory,
    View,
    ViewPart,
    bad_features,
)
from specanim.versions import installed

__all__ = [
    "WorkerDied",
    "dumps",
    "warm",
    "default_workers",
    "ctrl_c_held",
    "call_portably",
    "WorkerPool",
    "cache_dir",
    "installed",
    "did_you_mean",
    "describe_exception",
    "UserError",
    "RenderError",
    "OptionsT",
    "FRAME_FIELDS",
    "KINDS",
    "Box",
    "Camera",
    "Component",
    "Data",
    "Dataset",
    "DensityShader",
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
    "bad_features",
    "check_color",
    "check_continuous",
    "check_scheme",
    "check_template",
    "draw_polylines",
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
