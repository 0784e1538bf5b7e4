"""Registers the ``liveportrait`` engine. Importing this module stays cheap (no torch): the networks and
torch are imported when an engine is built."""

from __future__ import annotations

from engines.base import Engine, EngineOptions, register_engine


@register_engine("liveportrait")
def create_liveportrait_engine(options: EngineOptions) -> Engine:
    """The LivePortrait-compatible neural engine; ``options.weights`` names the weights directory."""
    from engines.liveportrait.renderer import LivePortraitEngine

    return LivePortraitEngine.from_options(options)
