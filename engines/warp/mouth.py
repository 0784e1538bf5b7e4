"""Inner-mouth fill: when the target mouth opens wider than the source's (a closed-mouth portrait that
talks), the warp alone would smear the lip line across the gap. Instead the opening is painted as a
shaded cavity with an upper row of teeth following the upper lip, lower teeth when wide open, and a
tongue, blended in through a feathered polygon mask. All work happens in the mouth's bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engines.landmarks import INNER_LIP_CONTOUR, INNER_LIP_LOWER, INNER_LIP_UPPER
from engines.warp.polygon import polygon_patch

CAVITY = np.array([52, 18, 24], np.float32)
THROAT = np.array([22, 6, 10], np.float32)
TONGUE = np.array([176, 82, 92], np.float32)
GUM = np.array([196, 104, 112], np.float32)
# Teeth are lit like the face around them: the cheeks' colour, half desaturated (enamel is near-neutral
# ivory), a tenth brighter. On skimage's astronaut, whose own teeth show, this gives (238, 219, 207)
# against (245, 232, 220) measured on the brightest quarter of his mouth; a fixed bright white glowed in
# dim or warm portraits.
CHEEK_SAMPLES = np.array([50, 280, 205, 425, 101, 330])  # cheek-surface landmarks, both sides
TEETH_DESATURATION = 0.5
TEETH_BRIGHTNESS = 1.1
DEFAULT_TEETH = np.array([232, 226, 214], np.float32)


@dataclass(frozen=True, slots=True)
class MouthPalette:
    """Colours of the painted mouth that depend on the portrait's light (RGB float32)."""

    teeth: np.ndarray = field(default_factory=lambda: DEFAULT_TEETH.copy())


def palette_for(image: np.ndarray, landmarks: np.ndarray) -> MouthPalette:
    """The palette lit like ``image`` (RGB uint8), measured on the cheeks at ``landmarks`` (478, >=2) px."""
    height, width = image.shape[:2]
    radius = max(2, int(0.06 * float(np.linalg.norm(landmarks[263, :2] - landmarks[33, :2]))))
    samples = []
    for x, y in landmarks[CHEEK_SAMPLES, :2].round().astype(int):
        patch = image[max(0, y - radius) : min(height, y + radius), max(0, x - radius) : min(width, x + radius)]
        samples.append(patch.reshape(-1, 3))
    pixels = np.concatenate(samples)
    if len(pixels) == 0:  # cheeks outside the image
        return MouthPalette()
    skin = np.median(pixels, axis=0).astype(np.float32)
    grey = skin.mean()
    teeth = TEETH_BRIGHTNESS * (grey + (1.0 - TEETH_DESATURATION) * (skin - grey))
    return MouthPalette(teeth=np.clip(teeth, 0, 255).astype(np.float32))


def lip_curve(points: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """y of the polyline ``points`` (M, 2) at each x in ``columns`` (any shape; points sorted by x first)."""
    order = np.argsort(points[:, 0])
    return np.interp(columns, points[order, 0], points[order, 1])


@dataclass(frozen=True, slots=True)
class Bite:
    """Where the teeth are: the upper row hangs from the skull down to the occlusal line (through
    ``point`` with ``slope`` dy/dx, in image px); the lower row rides on the jaw, ``jaw_drop`` px below it.
    Lips apart with the jaw shut (a grimace) show both rows meeting; a dropped jaw shows the cavity."""

    point: np.ndarray  # (2,)
    slope: float
    jaw_drop: float


def paint_mouth(
    image: np.ndarray, target: np.ndarray, visibility: float, bite: Bite, palette: MouthPalette = MouthPalette(),
    closed_gap: float = 0.0,
) -> None:
    """Paint the cavity inside the target inner-lip polygon of ``image`` (RGB uint8, modified in place).

    ``target`` is (478, >=2) landmarks in ``image`` pixels; ``visibility`` in [0, 1] fades the fill in as
    the mouth opens (0 leaves the image untouched). Only where the lips are more than ``closed_gap`` px
    apart (per column) is anything painted: lips that touch keep their own pixels, never a dark line.
    """
    if visibility <= 0:
        return
    polygon = target[INNER_LIP_CONTOUR, :2]
    # 1. Feathered mask of the opening, in its box.
    patch = polygon_patch(polygon, image.shape, pad=2, blur=5)
    if patch is None:
        return
    (x0, y0, x1, y1), mask = patch
    mask *= visibility
    # 2. Per column, the upper and lower inner-lip curves; rows measured from them.
    columns = np.arange(x0, x1, dtype=np.float32)
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    upper = lip_curve(target[INNER_LIP_UPPER, :2], columns)[None, :]
    lower = lip_curve(target[INNER_LIP_LOWER, :2], columns)[None, :]
    gap = np.maximum(lower - upper, 1e-3)
    mask *= np.clip((gap - closed_gap) / max(closed_gap, 2.0), 0.0, 1.0)  # apart enough to show the inside
    depth = np.clip((rows - upper) / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower lip
    mouth_width = float(np.ptp(polygon[:, 0]))
    centre_x = 0.5 * (polygon[:, 0].min() + polygon[:, 0].max())
    across = np.clip(np.abs(columns - centre_x) / max(mouth_width / 2, 1.0), 0.0, 1.0)[None, :]
    # 3. Cavity: darker towards the back of the throat and the corners.
    shade = (1.0 - 0.5 * np.sin(np.pi * depth)) * (1.0 - 0.35 * across**2)
    colour = THROAT + (CAVITY - THROAT) * shade[..., None]
    # 4. Teeth: the upper row down to the occlusal line, the lower row from the line plus the jaw drop,
    #    both arched up/down towards the corners, faint gaps between teeth, shaded under the lips and fading
    #    into the shadow at the corners where the dental arch turns away (the buccal corridors).
    opening = float(gap.max()) / max(mouth_width, 1.0)
    arch = 0.05 * mouth_width * across**2
    occlusal = bite.point[1] + (columns[None, :] - bite.point[0]) * bite.slope
    tooth_length = 0.25 * mouth_width
    overbite = 0.04 * mouth_width  # the upper row overlaps the lower one when the jaw is shut
    upper_edge = occlusal + overbite - arch
    # The chin also moves with the soft tissue of the lower lip; part of its drop is the jaw's.
    lower_edge = occlusal + overbite + 0.7 * max(bite.jaw_drop, 0.0) + arch
    central = np.clip(1.0 - across**2 / 0.8, 0.0, 1.0)
    # The upper row reaches up to the lip; what shows above a tooth's length is gum.
    upper_teeth = np.clip(upper_edge - rows + 0.5, 0.0, 1.0) * (central > 0)
    gum = np.clip(upper_edge - tooth_length - rows + 0.5, 0.0, 1.0)[..., None]
    lower_teeth = np.clip(rows - lower_edge + 0.5, 0.0, 1.0) * (rows - lower_edge < 0.45 * tooth_length) * (central > 0.2)
    tooth_width = max(0.1 * mouth_width, 2.0)
    seams = 1.0 - 0.12 * np.exp(-((((columns - centre_x) / tooth_width + 0.5) % 1.0 - 0.5) * 6.0) ** 2)[None, :]
    under_lip = 0.7 + 0.3 * np.clip(np.minimum(rows - upper, lower - rows) / max(0.05 * mouth_width, 1.0), 0.0, 1.0)
    corridor = np.clip((0.9 - across) / 0.3, 0.25, 1.0)  # the side teeth turn away from the light
    teeth_shade = ((0.95 - 0.45 * across**2) * seams * under_lip * corridor)[..., None]
    teeth = np.maximum(upper_teeth, lower_teeth)[..., None]
    colour += (palette.teeth * teeth_shade - colour) * teeth
    colour += (GUM * teeth_shade - colour) * gum * upper_teeth[..., None]
    # 5. Tongue: a soft ellipse resting on the lower lip, visible once the mouth is open.
    tongue = np.clip(1.0 - ((columns[None, :] - centre_x) / (0.33 * mouth_width)) ** 2
                     - ((lower - rows) / max(0.45 * float(gap.max()), 1.0)) ** 2, 0.0, 1.0)  # fmt: skip
    tongue *= np.clip((opening - 0.12) * 4.0, 0.0, 1.0) * (1.0 - teeth[..., 0])
    colour += (TONGUE * (0.55 + 0.45 * depth[..., None]) - colour) * np.sqrt(tongue)[..., None]
    # 6. Blend into the image.
    patch = image[y0:y1, x0:x1].astype(np.float32)
    patch += (colour - patch) * mask[..., None]
    image[y0:y1, x0:x1] = np.clip(patch, 0, 255).astype(np.uint8)
