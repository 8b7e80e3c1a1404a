# docs/tutorial/hello.py: the first example in docs/plugins.md
"""A panel that writes the epoch in the middle of its box."""

from collections.abc import Callable
from typing import Any

from specanim.sdk import Box, Frame, Panel, View, hookimpl


class Hello(Panel):
    """The epoch, in big letters."""

    name = "hello"  # what a spec writes as `type: hello`

    def view(self, frame: Frame, box: Box) -> View:
        return {  # a Vega-Lite view; the engine sizes it to the box
            "data": {"values": [{}]},
            "mark": {"type": "text", "fontSize": 40, "color": self.scene.foreground},
            "encoding": {
                "x": {"value": box.width / 2},  # pixels from the box's left edge
                "y": {"value": box.height / 2},  # pixels from its top
                "text": {"value": frame.format("epoch {epoch}")},
            },
        }


@hookimpl
def register_panels(register: Callable[[type[Panel[Any]]], None]) -> None:
    register(Hello)
