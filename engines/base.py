"""The engine contract and the small typed values that cross stage boundaries.

Every renderer (the weight-free warp engine, the LivePortrait-compatible neural engine, the offline
diffusion/video modes) implements :class:`Engine`:

* ``prepare(portrait, face) -> SourceState`` runs once per portrait (all per-source work lives here);
* ``render(state, motion) -> np.ndarray`` runs per frame and returns the full composited RGB frame;
* ``close()`` releases what the engine holds.

Coordinates: images are RGB ``uint8`` ``(H, W, 3)``. Landmarks are MediaPipe face-mesh points in
*pixels*: ``x`` to the right, ``y`` down, ``z`` away from the camera, ``z`` on the same pixel scale as ``x``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Mapping, Protocol, runtime_checkable

import numpy as np

NUM_LANDMARKS = 478  # MediaPipe face mesh with the iris refinement


class LivePuppetError(Exception):
    """A predictable failure with a one-line message meant for the user (no traceback is shown)."""


@dataclass(frozen=True, slots=True)
class Face:
    """One tracked face: 478 landmarks ``(478, 3)`` float32 in pixels of an image of ``image_size``."""

    landmarks: np.ndarray
    image_size: tuple[int, int]  # (width, height)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Tight landmark box ``(x0, y0, x1, y1)`` in pixels."""
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True, slots=True)
class BodyMotion:
    """Upper-body motion relative to the driver's neutral body; source-independent like :class:`Motion`.

    Lengths are in the driver's neutral shoulder widths, angles in radians in the image plane (positive
    turns clockwise on screen, y pointing down). Torso lean shows as the shoulder centre moving against the
    hips; a torso turn (or a step towards the camera) as the shoulder line narrowing (widening).
    Arms: rows (left, right) of the subject, columns (upper arm, forearm).
    """

    roll: float = 0.0  # change of the shoulder line's angle
    shift: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # shoulder centre (x, y)
    width: float = 1.0  # shoulder width / neutral
    hip_shift: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # hip centre (x, y)
    arm_angles: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.float32))  # change of each bone's angle
    arm_lengths: np.ndarray = field(default_factory=lambda: np.ones((2, 2), np.float32))  # bone length / neutral

    def eased(self, weight: float) -> "BodyMotion":
        """``weight`` of this motion (1 = as is, 0 = neutral)."""
        return BodyMotion(
            roll=self.roll * weight, shift=self.shift * weight, width=1.0 + weight * (self.width - 1.0),
            hip_shift=self.hip_shift * weight, arm_angles=self.arm_angles * weight,
            arm_lengths=1.0 + weight * (self.arm_lengths - 1.0),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Motion:
    """Driving motion relative to the neutral (calibration) face of the driver; source-independent.

    The face frame: the driver's neutral landmarks centred on their rigid-point centroid and divided by
    the neutral inter-ocular distance (so eye-to-eye = 1), in-plane roll removed (eye line horizontal);
    axes x right, y down, z away from the camera (see :class:`engines.landmarks.FaceFrame`). ``rotation``
    is the head rotation relative to neutral in that frame (acting on row vectors as ``p @ rotation.T``),
    ``scale`` and ``translation`` (x, y) likewise; ``expression`` is the driving landmarks with the head
    pose undone minus the neutral ones.
    """

    rotation: np.ndarray  # (3, 3) float32
    scale: float
    translation: np.ndarray  # (2,) float32
    expression: np.ndarray  # (478, 3) float32
    neutral: np.ndarray  # (478, 3) float32: the driver's neutral landmarks in the face frame
    face_found: bool = True
    # How much of the live driving motion is in effect: 1 while the face is tracked, easing to 0 when it is
    # lost. Engines that read pixels (the neural engine) use it to ease their own motion to neutral.
    driving_weight: float = 1.0
    # Pixel-level driving data for engines that look at images; None for scripted/synthetic motion.
    driving_image: np.ndarray | None = None  # RGB uint8 frame the face was found in
    driving_face: Face | None = None
    reference_image: np.ndarray | None = None  # the calibration frame (neutral)
    reference_face: Face | None = None
    calibration_id: int = 0  # changes whenever the neutral reference is re-taken
    # Expression parameters applied on top of the driving motion (engines.expressions.ExpressionParams as a
    # name -> value mapping); engines that cannot read landmark offsets (the neural engine) apply these.
    edit: Mapping[str, float] | None = None
    # Upper-body motion (shoulders, torso, arms) when body tracking is on; None leaves the body as it is.
    body: BodyMotion | None = None

    @staticmethod
    def identity(neutral: np.ndarray) -> "Motion":
        """No motion: the source as it is."""
        return Motion(
            rotation=np.eye(3, dtype=np.float32),
            scale=1.0,
            translation=np.zeros(2, np.float32),
            expression=np.zeros_like(neutral, dtype=np.float32),
            neutral=neutral,
            face_found=False,
            driving_weight=0.0,
        )


@dataclass(slots=True)
class SourceState:
    """What ``prepare`` computed for one portrait. Engines subclass it with their own fields."""

    image: np.ndarray  # the portrait as rendered into (RGB uint8, output resolution)
    face: Face  # the portrait's face in ``image`` pixels
    extras: dict = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """A renderer: prepare a portrait once, then render each frame from motion. Single-threaded."""

    name: str

    def prepare(self, portrait: np.ndarray, face: Face) -> SourceState: ...

    def render(self, state: SourceState, motion: Motion) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """What the CLI hands every engine factory; an engine ignores what does not concern it."""

    weights: Path | None = None  # directory with model weights (neural engine)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    runtime: str = "torch"  # torch | onnx | trt (see export/)
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    output_size: int | None = None  # longest output side in pixels; None keeps the source's resolution


# Engines are registered by name in a plain dict of factories: ``ENGINES[name](options) -> Engine``.
EngineFactory = Callable[[EngineOptions], Engine]
ENGINES: dict[str, EngineFactory] = {}


def register_engine(name: str) -> Callable[[EngineFactory], EngineFactory]:
    def decorate(factory: EngineFactory) -> EngineFactory:
        ENGINES[name] = factory
        return factory

    return decorate


# Modules that register the built-in engines when imported. They must not import torch or diffusers at
# module level: the heavy imports happen when an engine is built.
BUILTIN_ENGINE_MODULES = ("engines.warp.engine", "engines.liveportrait.engine")


def create_engine(name: str, options: EngineOptions = EngineOptions()) -> Engine:
    """Build a registered engine by name (importing the built-in engines on first use)."""
    for module in BUILTIN_ENGINE_MODULES:
        importlib.import_module(module)
    if name not in ENGINES:
        raise LivePuppetError(f"unknown engine {name!r}; available: {', '.join(sorted(ENGINES))}")
    return ENGINES[name](options)
