"""Portrait layers for the warp engine, computed once per portrait.

The person is cut out of the background (MediaPipe selfie segmentation, united with the face oval so a
stylised face the segmenter misses still moves) and split along a line just below the chin:

* the **head layer** (head with hair): every person pixel above the cut and within a few face sizes of
  the face; it takes the full head motion;
* the **body layer** (neck and torso): the rest of the person; near the cut it takes the head motion too,
  fading to none towards the shoulders (``neck``), so the neck stretches between head and torso;
* the **background plate**: the portrait with the person inpainted away, shown wherever the moving head
  uncovers it.

Per frame the engine composites plate <- body <- head. With no motion this reproduces the portrait: the
body layer covers every person pixel the head layer does not fully cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.landmarks import FACE_OVAL, FaceFrame
from engines.warp.compose import Layer, smoothstep


EDGE_HOLD = 0.03  # image heights above the bottom edge over which the neck's share of the head motion ends
MIN_NECK_LENGTH = 0.1  # face heights: the shortest fade of the neck's share, however tight the crop


@dataclass(frozen=True, slots=True)
class LayerConfig:
    cut_below_chin: float = 0.04  # the head/body cut, this many face heights below the chin...
    cut_feather: float = 0.08  # ...fading over this many face heights
    head_reach: float = 2.2  # the head layer ends this many face sizes from the face centre (hair)
    under_chin: float = 0.45  # the body layer continues this many face heights up under the head
    neck_length: float = 0.4  # below the cut, the body takes less and less head motion over this many face heights
    neck_half_width: float = 0.35  # ...within this many face widths of the neck's axis, fading outside it
    plate_size: int = 256  # the background is inpainted at this resolution (longest side), then upsampled
    person_threshold: float = 0.05  # segmentation confidence counted as person when cutting the plate
    edge: tuple[float, float] = (0.2, 0.8)  # segmentation confidences mapped to alpha 0 and 1
    # With the body moving (the portrait's shoulders given): beside the neck, everything below a line from
    # the neck's side at the cut to this many shoulder widths above each shoulder joint is body, never head
    # (a webcam sees the shoulders as high as the chin), feathered over ``shoulder_feather`` face heights.
    shoulder_rise: float = 0.25
    shoulder_feather: float = 0.08


@dataclass(frozen=True, slots=True)
class PortraitLayers:
    """Per-pixel layer maps of a portrait (all (H, W) float32 in [0, 1] unless noted)."""

    person: np.ndarray  # the person's soft mask
    head: Layer  # the head layer: colour (H, W, 3) uint8, alpha (H, W) float32
    body: Layer  # the body layer: colour and alpha
    neck: np.ndarray  # share of the head's motion the body layer takes at each pixel
    plate: np.ndarray  # (H, W, 3) uint8: the background with the person removed
    static: np.ndarray  # (H, W, 3) uint8: the unmoved body over the plate

    def head_box(self) -> tuple[int, int, int, int]:
        return _box(self.head.alpha > 0)

    def body_box(self) -> tuple[int, int, int, int]:
        return _box(self.body.alpha > 0)

    def neck_box(self) -> tuple[int, int, int, int]:
        return _box((self.neck > 1e-3) & (self.body.alpha > 0))


class PersonSegmenter:
    """MediaPipe selfie segmentation (the general model), created on first use; ``close`` releases it."""

    def __init__(self) -> None:
        self._model = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W) float32 person probability of an RGB uint8 image."""
        if self._model is None:
            import mediapipe as mp  # heavy import, only when a portrait is prepared

            self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        mask = self._model.process(np.ascontiguousarray(image)).segmentation_mask
        return np.clip(mask, 0.0, 1.0).astype(np.float32)

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None


def split_layers(
    image: np.ndarray,
    landmarks: np.ndarray,
    person: np.ndarray,
    config: LayerConfig = LayerConfig(),
    shoulders: np.ndarray | None = None,
) -> PortraitLayers:
    """Layers of ``image`` (RGB uint8) from its face ``landmarks`` (478, >=2) px and a soft ``person``
    mask (H, W) in [0, 1]. ``shoulders`` (2, 2) px: the portrait's shoulder joints when its body moves (the
    shoulders then never belong to the head layer)."""
    height, width = image.shape[:2]
    points = landmarks[:, :2].astype(np.float32)
    # 1. The face's own axes: "down" from the eye line, distances in face heights / widths.
    down = FaceFrame.of(landmarks).rotation[:2, 1].astype(np.float32)
    right = np.array([-down[1], down[0]], np.float32)
    chin, top = points[152], points[10]
    face_height = max(float((chin - top) @ down), 1.0)
    face_width = max(float(np.ptp(points[FACE_OVAL] @ right)), 1.0)
    centre = points[FACE_OVAL].mean(axis=0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    offset_x, offset_y = xs - chin[0], ys - chin[1]
    below_chin = (offset_x * down[0] + offset_y * down[1]) / face_height  # > 0 below the chin
    sideways = (offset_x * right[0] + offset_y * right[1]) / face_width
    # 2. The person, always including the face itself.
    face = np.zeros((height, width), np.uint8)
    cv2.fillPoly(face, [np.round(points[FACE_OVAL]).astype(np.int32)], 1)
    person = np.maximum(person.astype(np.float32), face.astype(np.float32))
    person = _attached_to(person, face)
    alpha = smoothstep(person, *config.edge)
    alpha[alpha < 0.05] = 0.0  # too faint to unmix a colour from (see _layer): background
    # 3. Head layer: above the cut and near the face (an ellipse of ``head_reach`` face sizes).
    cut = config.cut_below_chin
    above_cut = 1.0 - smoothstep(below_chin, cut, cut + config.cut_feather)
    dx, dy = xs - centre[0], ys - centre[1]
    reach = np.hypot((dx * right[0] + dy * right[1]) / face_width, (dx * down[0] + dy * down[1]) / face_height)
    near = 1.0 - smoothstep(reach, config.head_reach, config.head_reach + 0.15)
    head_weight = above_cut * near
    if shoulders is not None:
        axes = np.stack([right, down])
        zone = _shoulder_zone(sideways, below_chin, shoulders, chin, axes, (face_width, face_height), config)
        face_near = cv2.dilate(face, np.ones((5, 5), np.uint8)).astype(np.float32)
        head_weight = head_weight * (1.0 - zone * (1.0 - face_near))
    head = alpha * head_weight
    # 4. Body layer: the person wherever the head layer is not fully opaque. Below the cut it follows the
    #    head wherever the head layer reaches the cut (the neck, long hair), fading downwards, so no gap
    #    opens between them; beside that (shoulders, background) it stays.
    body = alpha * (head_weight < 0.99)
    # Under the lower head the body layer continues upwards (the neck and hair just below the cut, carried
    # up), so whatever the head's own non-rigid motion uncovers there (a jaw that closes, a pitch, a turn)
    # shows neck, not background.
    neck_column = np.abs(sideways) < config.neck_half_width + 0.15
    under = (below_chin > cut - config.under_chin) & (head_weight >= 0.99) & neck_column
    continued = _carried_up(image, below_chin, down, face_height, cut + config.cut_feather + 0.02)
    body_colour = np.where(under[..., None], continued, image)
    body = np.maximum(body, head * under)
    along = 1.0 - smoothstep(below_chin, cut, cut + _neck_length(below_chin, sideways, cut, config))
    across = _cut_profile(head, chin + cut * face_height * down, right, face_width, sideways)
    core = 1.0 - smoothstep(np.abs(sideways), config.neck_half_width, config.neck_half_width + 0.3)
    # The frame's bottom edge itself stays put (the torso goes on beyond it; what lies there is unknown).
    edge = smoothstep((height - 1 - ys) / max(EDGE_HOLD * height, 1.0), 0.0, 1.0)
    neck = (along * np.maximum(across, core) * edge).astype(np.float32)
    # 5. Colours: each layer's colour is unmixed from what lies under it, so that with no motion the
    #    layers composite back to the portrait exactly, soft edges included.
    plate = background_plate(image, person, config.plate_size, config.person_threshold)
    # Outside the person only the head's surroundings keep the wide inpainting (no fringe of hair may
    # ghost behind a moving head); elsewhere the plate is the portrait itself, so still parts stay exact.
    keep_image = (alpha <= 0) & (head_weight <= 0)
    plate[keep_image] = image[keep_image]
    body_layer = _layer(body_colour, body, plate)
    static = composite(body_layer, plate)
    head_layer = _layer(image, head, static)
    return PortraitLayers(person=person, head=head_layer, body=body_layer, neck=neck, plate=plate, static=static)


def composite(layer: Layer, under: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: ``layer`` over ``under`` (H, W, 3)."""
    colour, alpha = layer.colour, layer.alpha
    a = alpha[..., None]
    return np.clip(colour * a + under * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)


def _layer(image: np.ndarray, alpha: np.ndarray, under: np.ndarray) -> Layer:
    """A layer whose colour F solves alpha·F + (1 − alpha)·under = image (foreground colour
    estimation against a known background). Where no colour in [0, 255] solves it (the segmentation's
    confidence understates a pixel's coverage), alpha is raised to the least value that has a solution."""
    pixels = image.astype(np.float32)
    under = under.astype(np.float32)
    a = np.clip(alpha, 0.0, 1.0)[..., None].astype(np.float32)
    # Least alpha per channel for which F stays in range: F = 0 needs a ≥ 1 − I/U, F = 255 needs
    # a ≥ (I − U)/(255 − U).
    darker = np.where(pixels < under, 1.0 - pixels / np.maximum(under, 1e-3), 0.0)
    brighter = np.where(pixels > under, (pixels - under) / np.maximum(255.0 - under, 1e-3), 0.0)
    needed = np.maximum(darker, brighter).max(axis=-1, keepdims=True)
    a = np.where(a > 0, np.maximum(a, needed), 0.0)
    a = np.round(a * 255.0) / 255.0
    unmixed = (pixels - (1.0 - a) * under) / np.maximum(a, 1e-3)
    colour = np.where(a > 0, unmixed, pixels)
    colour = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    return Layer.of(colour, a[..., 0])


def background_plate(image: np.ndarray, person: np.ndarray, size: int, threshold: float) -> np.ndarray:
    """``image`` with the person filled in from the background around them (a push-pull fill at ``size`` px
    on the longest side: smooth, no streaks), upsampled. The mask is dilated so no fringe of the person is
    left to ghost behind a moving head."""
    height, width = image.shape[:2]
    mask = (person > threshold).astype(np.uint8)
    grow = max(3, int(0.01 * max(height, width))) | 1
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    if not mask.any():
        return image.copy()
    scale = min(1.0, size / max(height, width))
    small_size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA).astype(np.float32)
    known = 1.0 - cv2.resize(mask, small_size, interpolation=cv2.INTER_NEAREST).astype(np.float32)
    known = cv2.erode(known, np.ones((3, 3), np.uint8))
    filled = cv2.resize(_push_pull(small, known), (width, height), interpolation=cv2.INTER_LINEAR)
    weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), grow / 4)[..., None]
    weight = np.maximum(weight, mask[..., None].astype(np.float32))
    return np.clip(image * (1.0 - weight) + filled * weight, 0, 255).astype(np.uint8)


def _push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the pixels of ``image`` (h, w, 3) float32 where ``known`` (h, w) is 0 from a pyramid of the
    known ones: each level averages what is known below it, the holes take the next coarser level."""
    height, width = known.shape
    if min(height, width) < 4 or known.min() >= 1.0:
        if known.sum() <= 0:
            return image
        mean = (image * known[..., None]).sum(axis=(0, 1)) / known.sum()
        return image * known[..., None] + mean * (1.0 - known[..., None])
    coarse_known = cv2.pyrDown(known)
    coarse = cv2.pyrDown(image * known[..., None]) / np.maximum(coarse_known, 1e-6)[..., None]
    coarse = _push_pull(coarse, np.clip(coarse_known * 2.0, 0.0, 1.0))
    up = cv2.pyrUp(coarse, dstsize=(width, height))
    return image * known[..., None] + up * (1.0 - known[..., None])


def _neck_length(below_chin: np.ndarray, sideways: np.ndarray, cut: float, config: LayerConfig) -> float:
    """How far below the cut (face heights) the neck's share of the head motion fades out: ``neck_length``,
    or less where the picture ends first below the neck (a tight crop): the torso continues beyond the
    frame's edge, so the edge itself stays put instead of shearing with the head."""
    border = np.zeros(below_chin.shape, bool)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    below = border & (below_chin > cut) & (np.abs(sideways) < config.neck_half_width + 0.3)
    if not below.any():
        return config.neck_length
    return float(np.clip(below_chin[below].min() - cut, MIN_NECK_LENGTH, config.neck_length))


def _shoulder_zone(
    sideways: np.ndarray, below_chin: np.ndarray, shoulders: np.ndarray, chin: np.ndarray, axes: np.ndarray,
    face_size: tuple[float, float], config: LayerConfig,
) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 on the shoulders beside the neck. ``sideways``/``below_chin``: each
    pixel's offset from the chin in face widths / heights (``face_size`` = (width, height) px) along
    ``axes`` (2, 2: right, down). Per side the zone lies below the line from the neck's side at the cut to
    a point ``shoulder_rise`` shoulder widths above the shoulder joint, and level beyond the joint."""
    face_width, face_height = face_size
    joints = (shoulders - chin) @ axes.T / np.array([face_width, face_height], np.float32)  # (2, 2) face units
    rise = config.shoulder_rise * float(np.linalg.norm(shoulders[0] - shoulders[1])) / face_height
    neck = config.neck_half_width + 0.15  # the neck column's half width (as split_layers' ``under``)
    feather = config.shoulder_feather
    zone = np.zeros(sideways.shape, np.float32)
    for joint_sideways, joint_below in joints:
        side = sideways * np.sign(joint_sideways)  # > 0 on this shoulder's side
        t = np.clip((side - neck) / max(abs(joint_sideways) - neck, 1e-3), 0.0, 1.0)
        line = config.cut_below_chin + t * (joint_below - rise - config.cut_below_chin)
        beside = smoothstep(side, neck, neck + feather * face_height / face_width)
        zone = np.maximum(zone, smoothstep(below_chin - line, 0.0, feather) * beside)
    return zone.astype(np.float32)


def _carried_up(image: np.ndarray, below_chin: np.ndarray, down: np.ndarray, face_height: float, level: float) -> np.ndarray:
    """``image`` where each pixel above ``level`` (face heights below the chin) shows the pixel at that level
    straight below it along the face's ``down``."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = np.maximum(level - below_chin, 0.0) * face_height
    return cv2.remap(image, xs + shift * down[0], ys + shift * down[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _cut_profile(
    head: np.ndarray, on_cut: np.ndarray, right: np.ndarray, face_width: float, sideways: np.ndarray
) -> np.ndarray:
    """How much head layer reaches the cut line, as a function of the sideways coordinate (face widths),
    read just above the line, widened and smoothed a little, and looked up for every pixel."""
    offsets = np.linspace(-4.0, 4.0, 801, dtype=np.float32)  # face widths along the cut
    samples = on_cut[None, :] + offsets[:, None] * face_width * right[None, :]
    reached = cv2.remap(
        head, samples[:, 0].reshape(1, -1).astype(np.float32), samples[:, 1].reshape(1, -1).astype(np.float32),
        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    reached = cv2.dilate(reached, np.ones((1, 11), np.uint8))  # 0.1 face widths
    reached = cv2.GaussianBlur(reached, (0, 0), sigmaX=5.0, sigmaY=0.1)[0]
    return np.interp(sideways, offsets, np.clip(reached, 0.0, 1.0)).astype(np.float32)


def _attached_to(person: np.ndarray, face: np.ndarray) -> np.ndarray:
    """``person`` (soft, (H, W)) without the blobs that do not touch the ``face`` mask (a lamp or a poster
    the segmenter half-takes for a person would otherwise move with the head); soft edges kept nearby."""
    confident = (person > 0.5).astype(np.uint8)
    count, labels = cv2.connectedComponents(confident)
    keep = np.setdiff1d(np.unique(labels[face > 0]), [0])
    attached = np.isin(labels, keep).astype(np.uint8)
    grow = max(3, int(0.02 * max(person.shape))) | 1
    near = cv2.dilate(attached, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    return person * near


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0, 0, 1, 1
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
