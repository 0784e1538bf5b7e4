"""Motion modifiers: stages between the motion driver and the engine that edit the motion (expression
sliders, keyframed timelines, presets, speech-driven mouth). The offline renderer and the live loop apply
the same list in order."""

from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable

from engines.base import Motion


@runtime_checkable
class MotionModifier(Protocol):
    def modify(self, motion: Motion, timestamp: float) -> Motion:
        """Return the edited motion for the frame at ``timestamp`` seconds (never mutate ``motion``)."""
        ...


def apply_modifiers(modifiers: Iterable[MotionModifier], motion: Motion, timestamp: float) -> Motion:
    for modifier in modifiers:
        motion = modifier.modify(motion, timestamp)
    return motion
