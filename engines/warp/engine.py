"""The weight-free warp engine (the embedded default): the portrait as layers (head with hair, body, a
background plate; see :mod:`engines.warp.layers`), the head moved by the driver's rigid motion plus a
fold-free thin-plate-spline warp of its own landmarks to the retargeted driving landmarks.

prepare (once per portrait): resize to the output size, segment the person and split the layers, fix the
head's control points (a landmark subset, a ring of hair points, anchors beyond the head layer) and
precompute the TPS evaluation matrix on a grid over the head layer.

render (per frame):
 1. target landmarks = retarget(motion), tidied (lids and lips never cross, irises stay inside the eye);
 2. the head's similarity (rigid points) is taken whole; the rest, seen from the moving head, is the
    non-rigid part: control displacements split into an affine part and the detail;
 3. grid field = affine field + α(x) · detail field, α lowered only where the Jacobian determinant would
    fall below a margin (a large head turn foreshortens the face instead of folding it);
 4. backward map by Newton inversion on the grid, composed with the similarity where the head lands,
    upsampled to pixels, one ``cv2.remap`` of the head layer; in a turn, what a fold-free 2-D warp cannot
    show blended over it (:mod:`engines.warp.turn`): the front surface where the face lies over itself
    (the nose before the far cheek), the near side mirrored where the portrait's hidden side is revealed;
 5. eyes and the inner mouth painted where a warp cannot show them;
 6. composite: the plate, the body (its neck stretched towards the head), the head on top.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import cv2
import numpy as np

from engines.base import EngineOptions, Face, Motion, SourceState, register_engine
from engines.body import SHOULDERS
from engines.images import fit_longest_side
from engines.landmarks import (
    FACE_OVAL, INNER_LIP_CONTOUR, INNER_LIP_LOWER, INNER_LIP_UPPER, LEFT_BROW, LEFT_EYE_CONTOUR, LEFT_EYE_LOWER,
    LEFT_EYE_UPPER, LEFT_IRIS, LIPS, RIGHT_BROW, RIGHT_EYE_CONTOUR, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
    RIGHT_IRIS, RIGID, FaceFrame, euler_to_rotation, eye_openings, mouth_opening, rotation_to_euler,
)  # fmt: skip
from engines.mesh import MESH_POINTS
from engines.retarget import Retargeter
from engines.warp.field import TpsGrid, determinant, fold_free_blend, fold_free_field, invert, jacobian
from engines.warp.compose import (
    apply_affine, blend_over, follow_head_detail, head_grid_map, moved_box, neck_map, partial_similarity,
    seam_weight, smoothstep, union, upsample, warp_layer,
)
from engines.warp.body import BodyWarp
from engines.warp.eyes import EyeTexture, LidTexture, eye_texture, iris_colour, lid_texture, paint_eye, paint_lid
from engines.warp.layers import LayerConfig, PersonSegmenter, PortraitLayers, split_layers
from engines.warp.lips import close_lips
from engines.warp.turn import TurnConfig, TurnMaps, blend_override
from engines.warp.mouth import Bite, MouthPalette, paint_mouth, palette_for

NOSE = np.array([1, 2, 4, 5, 6, 168, 197, 195, 98, 327, 64, 294, 129, 358, 48, 278, 219, 439, 94, 19])
CHEEKS = np.array([50, 280, 205, 425, 187, 411, 147, 376, 116, 345, 123, 352, 36, 266, 142, 371])
FOREHEAD = np.array([151, 9, 8, 108, 337, 69, 299, 104, 333])
JAW = np.array([152, 175, 199, 200, 18, 32, 262, 140, 369, 169, 394, 83, 313])
CONTROL_LANDMARKS = np.array(sorted(set(np.concatenate([
    FACE_OVAL, RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR, RIGHT_IRIS, LEFT_IRIS, RIGHT_BROW, LEFT_BROW, LIPS,
    NOSE, CHEEKS, FOREHEAD, JAW,
]).tolist())))  # fmt: skip
NECK_SEAM = 0.25  # face sizes below the head layer over which the neck's share of the head's non-rigid motion fades
CLOSED_LIP_LINE = 0.03  # closed lips still show a dark line this share of the mouth's width (and the
#                        lip closer's squeeze stays a smooth map, free of folds)
CONTROL_CLEARANCE = 0.3  # mesh points nearer than this many eye widths to an eye or the inner lips: no controls
RING_FOLLOW_STEPS = 14  # shares tried (ring_follow .. 1, 0.05 apart) when the base motion would fold
INNER_UPPER = INNER_LIP_UPPER[1:-1]  # without the corners; pairs with INNER_LOWER point for point
INNER_LOWER = INNER_LIP_LOWER[1:-1]
EYES = (
    (RIGHT_EYE_CONTOUR, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
    (LEFT_EYE_CONTOUR, LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
)


@dataclass(frozen=True, slots=True)
class WarpConfig:
    grid_step: float = 7.0  # px between TPS grid points at 512² output (scales with the face)
    region_scale: float = 2.3  # side of the non-rigid warp's square / face size (beyond it the head is rigid)
    hair_follow: float = 0.3  # share of the head's rigid motion the hair (and neck) beyond the face takes
    ring_scale: float = 1.35  # ring of head points (hair), outside the face oval, taking...
    ring_follow: float = 0.35  # ...this share of the face's non-rigid (affine) motion (hair hangs)
    regularisation: float = 1e-4
    fold_margin: float = 0.05  # the smallest Jacobian determinant allowed (0 = folding)
    max_angle: float = 45.0  # head pitch/yaw/roll are clamped to this many degrees
    # A source mouth opening below this is not warped open (its inner lips are no controls): the opening
    # beyond the source's own is painted instead of stretching a thin gap.
    closed_mouth: float = 0.2
    min_eye_gap: float = 0.06  # lids keep at least this fraction of the eye width apart
    closed_eye: float = 0.1  # a portrait eye opened less than this (lid gap / eye width) is drawn open
    layers: LayerConfig = field(default_factory=LayerConfig)
    turn: TurnConfig | None = field(default_factory=TurnConfig)  # None: no occlusion or hidden-side fill


@dataclass(slots=True)
class WarpState(SourceState):
    layers: PortraitLayers | None = None
    grid_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # the non-rigid warp's grid, image px
    head_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # the head layer's box, image px
    neck_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # where the body layer moves with the head
    controls: np.ndarray = field(default_factory=lambda: np.zeros(0))  # landmark indices used as controls
    source_controls: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (K, 2) head-box px
    source_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (478, 2) landmarks, image px
    ring: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (R, 2) head-box px
    anchors: int = 0
    grid: TpsGrid | None = None
    retargeter: Retargeter | None = None
    frame: np.ndarray | None = None  # (H, W, 3) the output buffer, reused every frame
    mouth_closed: bool = True
    source_opening: float = 0.0
    down: np.ndarray = field(default_factory=lambda: np.array([0.0, 1.0], np.float32))  # the face's "down"
    lip_gap: float = 1.0  # px the inner lips keep apart
    face_size: float = 1.0  # px
    face_centre: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # rigid points' centre, px
    taper: np.ndarray | None = None  # (ny, nx, 1) 1 inside the head box, 0 at its border
    last_grid_map: np.ndarray | None = None  # (ny, nx, 2) backward map on the head grid (warm start)
    last_map: np.ndarray | None = None  # (h, w, 2) the head layer's backward map of the last frame, image px
    last_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # where ``last_map`` lies in the image
    eyes: tuple[EyeTexture, ...] = ()  # (right, left) as in EYES
    lids: tuple[LidTexture, ...] = ()
    source_eye_openings: np.ndarray = field(default_factory=lambda: np.ones(2, np.float32))  # (right, left)
    closed_eyes: np.ndarray = field(default_factory=lambda: np.zeros(2, bool))  # the portrait's shut eyes
    mouth_palette: MouthPalette = field(default_factory=MouthPalette)
    body: BodyWarp | None = None  # the upper body's warp, made on the first frame with body motion
    body_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # where the body layer has pixels (with ``body``)
    seam: np.ndarray | None = None  # (H, W) where the neck takes the head's non-rigid motion (compose.seam_weight)
    turn: TurnMaps | None = None  # what the warp cannot show in a turn (engines/warp/turn.py)


class WarpEngine:
    name = "warp"

    def __init__(self, options: EngineOptions = EngineOptions(), config: WarpConfig = WarpConfig()):
        self.options = options
        self.config = config
        self._segmenter = PersonSegmenter()

    # ---------------------------------------------------------------- prepare (once per portrait)
    def prepare(self, portrait: np.ndarray, face: Face, person: np.ndarray | None = None) -> WarpState:
        """``person``: the portrait's soft person mask (H, W) in [0, 1] if the caller has one (else the
        engine segments the portrait itself)."""
        cfg = self.config
        image, landmarks = _resize(portrait, face.landmarks, self.options.output_size)
        height, width = image.shape[:2]
        face = Face(landmarks=landmarks, image_size=(width, height))
        points = landmarks[:, :2]
        # 1. Layers: head, body (neck + torso) and the background plate.
        if person is None:
            person = self._segmenter(image)
        elif person.shape != (height, width):
            person = cv2.resize(person.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        layers = split_layers(image, landmarks, person, cfg.layers)
        # 2. The non-rigid warp's grid box: a square of ``region_scale`` face sizes about the face (beyond it
        #    the head layer moves rigidly). Anchors sit on the whole square, which may reach past the image:
        #    they pin only the non-rigid part, never the head's own motion; the grid covers the image part.
        x0, y0, x1, y1 = face.box
        face_size = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * face_size
        half = cfg.region_scale * face_size / 2
        reach = (cx - half, cy - half, cx + half, cy + half)
        grid_box = (int(max(0, np.floor(reach[0]))), int(max(0, np.floor(reach[1]))),
                    int(min(width, np.ceil(reach[2]))), int(min(height, np.ceil(reach[3]))))  # fmt: skip
        origin = np.array(grid_box[:2], np.float32)
        size = (grid_box[2] - grid_box[0], grid_box[3] - grid_box[1])
        # 3. Controls: landmarks, a ring of hair points, anchors on the padded box. A (nearly) closed source
        #    mouth is opened virtually by a sliver of lip so the inner lips can be controls.
        source_opening = mouth_opening(landmarks)
        mouth_closed = source_opening < cfg.closed_mouth
        down = FaceFrame.of(landmarks).rotation[:2, 1]
        control_points = points.copy()
        lip_gap = 0.02 * float(np.linalg.norm(points[61] - points[291]))
        if mouth_closed:
            sliver = 0.4 * float(np.linalg.norm(points[0] - points[13]))
            control_points[INNER_UPPER] -= sliver * down
            control_points[INNER_LOWER] += sliver * down
            lip_gap = 0.6 * sliver
        controls = _controls(points)
        source_controls = control_points[controls] - origin
        centre = points[RIGID].mean(axis=0) - origin
        ring = centre + (points[FACE_OVAL] - origin - centre) * cfg.ring_scale
        anchors = _box_outline(np.array(reach, np.float32) - np.tile(origin, 2), count_per_side=10)
        grid_step = cfg.grid_step * face_size / 230.0  # ~5 px for a face of ~230 px (512² portrait)
        grid = TpsGrid(np.concatenate([source_controls, ring, anchors]), size, grid_step, cfg.regularisation)
        taper = _border_taper(grid, np.array(reach, np.float32) - np.tile(origin, 2), feather=0.06 * 2 * half)
        colour = iris_colour(image, points)
        lids = tuple(lid_texture(image, points, contour, upper) for contour, upper, _, _ in EYES)
        eyes = tuple(eye_texture(image, points, contour, iris, colour) for contour, _, _, iris in EYES)
        source_eye_openings = eye_openings(landmarks)
        closed_eyes = source_eye_openings < cfg.closed_eye
        # A closed portrait eye shows no white: the painted teeth's near-neutral white (lit like the cheeks).
        mouth_palette = palette_for(image, landmarks)
        eyes = tuple(
            dataclasses.replace(eye, sclera=mouth_palette.teeth) if closed else eye
            for eye, closed in zip(eyes, closed_eyes)
        )
        turn = None if cfg.turn is None else TurnMaps.of(points, cfg.turn)
        return WarpState(
            image=image, face=face, turn=turn, layers=layers, grid_box=grid_box, head_box=layers.head_box(),
            seam=seam_weight(layers.head.alpha, layers.neck, NECK_SEAM * face_size),
            neck_box=layers.neck_box(),
            controls=controls, source_controls=source_controls, source_points=points.copy(), ring=ring,
            anchors=len(anchors), grid=grid, retargeter=Retargeter(face),
            frame=layers.static.copy(),
            mouth_closed=mouth_closed, source_opening=source_opening, down=down, lip_gap=lip_gap,
            face_size=face_size, face_centre=points[RIGID].mean(axis=0), taper=taper, mouth_palette=mouth_palette,
            eyes=eyes, lids=lids, source_eye_openings=source_eye_openings, closed_eyes=closed_eyes,
        )  # fmt: skip

    # ---------------------------------------------------------------- render (per frame)
    def render(self, state: WarpState, motion: Motion) -> np.ndarray:
        """The full composited frame (RGB uint8). The returned array is reused by the next call."""
        cfg = self.config
        if motion.body is not None and state.body is None:
            self._add_body(state)  # once, before any layer is drawn
        origin = np.array(state.grid_box[:2], np.float32)
        height, width = state.image.shape[:2]
        # 1. Target landmarks in image px, tidied.
        target = state.retargeter.retarget(_clamp_pose(motion, cfg.max_angle))
        gazes = _tidy_eyes(state.source_points, target, cfg.min_eye_gap)
        lips = target.copy()  # the lip closer may shut the lips down to the line closed lips show
        _tidy_inner_lips(lips, state.down, CLOSED_LIP_LINE * float(np.linalg.norm(target[61, :2] - target[291, :2])))
        _tidy_inner_lips(target, state.down, state.lip_gap)
        head = _fit_similarity(state.source_points[RIGID], target[RIGID, :2])
        drawn = target.copy()  # where the eyes are drawn; the warp keeps a closed portrait eye shut
        for (contour, _, _, iris), closed in zip(EYES, state.closed_eyes):
            if closed:
                held = np.concatenate([contour[1:8], contour[9:], iris])  # lids and iris, not the corners
                target[held, :2] = apply_affine(head, state.source_points[held])
        # 2. The head's rigid motion (a similarity of the rigid points) is taken whole; what is left, seen
        #    from the moving head, is the non-rigid part: landmarks, a ring taking part of the face's affine
        #    motion (hair), zero at the anchors. Its affine part is split off for the fold-free blend.
        # The hair beyond the face follows the head only in part (long hair hangs; the face itself still
        # follows fully: the rest of its motion is part of the non-rigid warp, which reaches it).
        hair = partial_similarity(head, state.face_centre, cfg.hair_follow)
        inverse = cv2.invertAffineTransform(hair).astype(np.float32)
        moved = apply_affine(inverse, target[state.controls, :2]) - origin
        affine = _fit_affine(state.source_controls, moved)
        ring_motion = apply_affine(affine, state.ring) - state.ring
        affine_motion = apply_affine(affine, state.source_controls) - state.source_controls
        no_motion = np.zeros((state.anchors, 2), np.float32)
        base = np.concatenate([affine_motion, cfg.ring_follow * ring_motion, no_motion])
        detail = np.concatenate([moved - state.source_controls - affine_motion, 0 * ring_motion, no_motion])
        # 3. Grid fields of both parts in one pass, and the fold-free blend.
        fields = state.grid.field(np.concatenate([base, detail], axis=1))
        base_field, detail_field = fields[..., :2], fields[..., 2:]
        spacing = state.grid.spacing
        if determinant(jacobian(base_field, spacing)).min() < cfg.fold_margin:
            base_field = _unfolded_base(state, base_field, ring_motion, cfg)
        forward, _ = fold_free_field(base_field, detail_field, spacing, cfg.fold_margin)
        # 4. The head layer: backward map on its grid, composed with the head's similarity where it lands.
        grid_points = state.grid.points.reshape(*state.grid.shape, 2)
        backward = invert(forward, spacing, start=state.last_grid_map)
        state.last_grid_map = backward
        displacement = (backward - grid_points) * state.taper
        head_box = moved_box(hair, state.head_box, 0.1 * state.face_size, (width, height))
        coarse, coarse_grid = head_grid_map(displacement, spacing, origin, inverse, head_box)
        state.last_map = upsample(coarse, coarse_grid, head_box)
        state.last_box = head_box
        lips[:, :2] -= head_box[:2]
        close_lips(state.last_map, lips, state.source_points)  # lips closing further than the grid can
        local = target.copy()
        local[:, :2] -= head_box[:2]
        warped = warp_layer(state.layers.head, state.last_map)
        hidden_eyes = np.zeros(2, np.float32)
        if state.turn is not None:  # occlusion and the hidden side revealed in a turn
            hidden_eyes = self._show_turn(state, warped, coarse, coarse_grid, target, head, lips)
        # 5. Eyes redrawn where the gaze moves; mouth fill where a closed source mouth is driven open.
        colour = warped[0]
        drawn[:, :2] -= head_box[:2]
        target_openings = eye_openings(drawn)
        openings = target_openings / np.maximum(state.source_eye_openings, 1e-3)  # target / source
        carry = head - np.array([[0, 0, head_box[0]], [0, 0, head_box[1]]], np.float32)  # portrait -> head box
        for k, ((contour, upper, _, iris), eye, lid) in enumerate(zip(EYES, state.eyes, state.lids)):
            scale = _eye_width(drawn, contour) / max(_eye_width(state.source_points, contour), 1e-6)
            shown = 1.0 - float(hidden_eyes[k])  # an eye behind the nose is not painted over it
            if state.closed_eyes[k]:  # drawn open over the shut lid, as far as the driver opens it
                weight = shown * float(smoothstep(target_openings[k], 0.05, 0.15))
                paint_eye(colour, drawn, contour, iris, eye, scale, weight, lashes=lid.lashes)
                continue
            # Redrawn (white, iris) where the gaze moves far or the eye opens much wider than the portrait's;
            # closed under the lid where it shuts (instead of a squashed eye).
            redraw = max(np.clip((gazes[k] - 0.13) / 0.08, 0.0, 1.0), np.clip((openings[k] - 1.3) / 0.5, 0.0, 1.0))
            paint_eye(colour, drawn, contour, iris, eye, scale, shown * float(redraw))
            carried = apply_affine(carry, state.source_points[contour])
            paint_lid(colour, drawn, carried, upper, lid, carry, shown * float(smoothstep(1.0 - openings[k], 0.35, 0.85)))
        if state.mouth_closed:
            excess = mouth_opening(target) - state.source_opening
            visibility = float(np.clip((excess - 0.03) / 0.06, 0.0, 1.0))
            if visibility > 0:
                # Painted only where the lips are further apart than the portrait's own closed lips.
                closed_gap = 1.5 * state.lip_gap + state.source_opening * float(np.linalg.norm(local[61, :2] - local[291, :2]))
                paint_mouth(colour, local, visibility, _bite(state, local), state.mouth_palette, closed_gap)
        # 6. Composite: the plate under the body (its neck stretched towards the head), the head on top.
        frame = state.frame
        np.copyto(frame, state.layers.static)
        neck_box = union(state.neck_box, moved_box(hair, state.neck_box, 2.0, (width, height)))
        if motion.body is not None and state.body.active:  # upper body (engines/warp/body.py): it all moves
            neck_box, body_map = state.body.layer_map(motion.body, state.layers.neck, hair, state.body_box)
        else:
            body_map = neck_map(state.layers.neck, hair, neck_box, 2 * state.grid.spacing[0])
        follow_head_detail(body_map, neck_box, state.seam, state.last_map, head_box, inverse)
        body = warp_layer(state.layers.body, body_map)
        nx0, ny0, nx1, ny1 = neck_box
        blend_over(frame[ny0:ny1, nx0:nx1], body, state.layers.plate[ny0:ny1, nx0:nx1])
        hx0, hy0, hx1, hy1 = head_box
        blend_over(frame[hy0:hy1, hx0:hx1], warped, frame[hy0:hy1, hx0:hx1])
        return frame

    def _show_turn(self, state: WarpState, warped, coarse, coarse_grid, target, head, lips) -> np.ndarray:
        """In place on ``warped`` (the head layer): what a 2-D warp cannot show in a turn blended in
        (engines/warp/turn.py): the front surface where the face lies over itself, the near side mirrored
        where the target reveals what the portrait hides. ``coarse``, ``coarse_grid``: the head's backward
        map before upsampling; ``lips``: the lip closer's target, output px. Returns how far each eye (right,
        left) is hidden behind the face's front surface (0..1)."""
        scale = float(np.sqrt(abs(np.linalg.det(head[:, :2]))))
        box = state.last_box
        turn = state.turn.frame(coarse, coarse_grid, target, scale)
        for override in turn.overrides:
            backward = upsample(override.map, coarse_grid, box)
            close_lips(backward, lips, state.source_points)
            weight = cv2.resize(override.weight, (box[2] - box[0], box[3] - box[1]), interpolation=cv2.INTER_LINEAR)
            blend_override(warped, state.layers.head, backward, weight, override.shading)
        return turn.occluded_at(target[[RIGHT_IRIS[0], LEFT_IRIS[0]], :2], coarse_grid)

    def _add_body(self, state: WarpState) -> None:
        """The body warp, on the first frame with body motion; when the portrait shows both shoulders, its
        layers are split again with the shoulders kept out of the head layer (they move with the body)."""
        state.body = BodyWarp.of_portrait(state.image)
        if not state.body.active:
            return
        shoulders = state.body.body.points[SHOULDERS]
        layers = split_layers(state.image, state.face.landmarks, state.layers.person, self.config.layers, shoulders)
        state.layers, state.head_box, state.neck_box = layers, layers.head_box(), layers.neck_box()
        state.body_box = layers.body_box()
        state.seam = seam_weight(layers.head.alpha, layers.neck, NECK_SEAM * state.face_size)
        state.frame = layers.static.copy()

    def jacobian_determinant(self, state: WarpState) -> np.ndarray:
        """Jacobian determinant of the last frame's head warp at each output pixel ((H, W) float32; 1
        outside the head layer's box). ≤ 0 where the warp folds. For diagnostics, not the hot path."""
        height, width = state.image.shape[:2]
        out = np.ones((height, width), np.float32)
        if state.last_map is None:
            return out
        dmx_dy, dmx_dx = np.gradient(state.last_map[..., 0])
        dmy_dy, dmy_dx = np.gradient(state.last_map[..., 1])
        x0, y0, x1, y1 = state.last_box
        out[y0:y1, x0:x1] = dmx_dx * dmy_dy - dmx_dy * dmy_dx  # backward map: same sign as forward
        return out

    def close(self) -> None:
        self._segmenter.close()


@register_engine("warp")
def _create(options: EngineOptions) -> WarpEngine:
    return WarpEngine(options)


# -------------------------------------------------------------------- helpers
def _resize(image: np.ndarray, landmarks: np.ndarray, longest: int | None) -> tuple[np.ndarray, np.ndarray]:
    if not longest or max(image.shape[:2]) == longest:
        return np.ascontiguousarray(image), landmarks.astype(np.float32)
    scale = longest / max(image.shape[:2])
    return fit_longest_side(image, longest), (landmarks * scale).astype(np.float32)


def _border_taper(grid: TpsGrid, reach: np.ndarray, feather: float) -> np.ndarray:
    """(ny, nx, 1) weights: smoothstep from 0 at the border of the ``reach`` box (x0, y0, x1, y1, grid px;
    it may extend past the grid) to 1 at ``feather`` px inside it."""
    points = grid.points.reshape(*grid.shape, 2)
    distance = np.minimum.reduce(
        [points[..., 0] - reach[0], reach[2] - points[..., 0], points[..., 1] - reach[1], reach[3] - points[..., 1]]
    )
    return smoothstep(distance, 0.0, max(feather, 1.0))[..., None].astype(np.float32)


def _box_outline(box: np.ndarray, count_per_side: int) -> np.ndarray:
    """(4 * count_per_side, 2) points evenly along the border of ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    t = np.linspace(0.0, 1.0, count_per_side, endpoint=False)
    xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    return np.concatenate([
        np.stack([xs, np.full_like(xs, y0)], 1), np.stack([np.full_like(ys, x1), ys], 1),
        np.stack([x1 + x0 - xs, np.full_like(xs, y1)], 1), np.stack([np.full_like(ys, x0), y1 + y0 - ys], 1),
    ]).astype(np.float32)  # fmt: skip


def _fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 affine taking ``source`` (N, 2) to ``target``."""
    design = np.concatenate([source, np.ones((len(source), 1), np.float32)], axis=1)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return solution.T.astype(np.float32)


def _fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.LMEDS)
    return (matrix if matrix is not None else np.eye(2, 3)).astype(np.float32)


def _clamp_pose(motion: Motion, limit: float) -> Motion:
    angles = rotation_to_euler(motion.rotation)
    if max(abs(a) for a in angles) <= limit:
        return motion
    clamped = euler_to_rotation(*np.clip(angles, -limit, limit))
    return dataclasses.replace(motion, rotation=clamped)


def _unfolded_base(
    state: WarpState, base_field: np.ndarray, ring_motion: np.ndarray, cfg: WarpConfig
) -> np.ndarray:
    """The head's base motion when it would fold: a large head move squeezes the band between the face and
    the lagging hair ring. The hair then follows more of the head (the smallest share that does not fold),
    so the face still reaches its target; only when even a fully following ring folds is the whole base
    motion scaled down."""
    spacing = state.grid.spacing
    zeros = np.zeros((len(state.source_controls), 2), np.float32)
    anchors = np.zeros((state.anchors, 2), np.float32)
    per_follow = state.grid.field(np.concatenate([zeros, ring_motion, anchors]))  # the ring's field, per share
    for follow in np.linspace(cfg.ring_follow, 1.0, RING_FOLLOW_STEPS)[1:]:
        candidate = base_field + (follow - cfg.ring_follow) * per_follow
        if determinant(jacobian(candidate, spacing)).min() >= cfg.fold_margin:
            return candidate
    return candidate * fold_free_blend(np.zeros_like(candidate), candidate, spacing, cfg.fold_margin)


def _eye_width(points: np.ndarray, contour: np.ndarray) -> float:
    return float(np.linalg.norm(points[contour[0], :2] - points[contour[8], :2]))


def _controls(points: np.ndarray) -> np.ndarray:
    """The landmarks the warp follows: the feature outlines (CONTROL_LANDMARKS) and every other mesh point
    clear of the eyes and the inner lips, whose own outlines are tidied (lids and lips never cross) while
    the mesh points just around them are not. A dense mesh follows what a sparse one cannot: in big turns
    and scalings the face's inside moves non-affinely (nose against cheeks)."""
    width = 0.5 * (_eye_width(points, RIGHT_EYE_CONTOUR) + _eye_width(points, LEFT_EYE_CONTOUR))
    guarded = points[np.concatenate([RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR, INNER_LIP_CONTOUR]), :2]
    mesh = points[:MESH_POINTS, :2]
    distance = np.linalg.norm(mesh[:, None, :] - guarded[None, :, :], axis=-1).min(axis=1)
    clear = np.flatnonzero(distance > CONTROL_CLEARANCE * width)
    return np.union1d(CONTROL_LANDMARKS, clear)


def _tidy_eyes(source: np.ndarray, target: np.ndarray, min_gap: float) -> list[float]:
    """In place: lids stay ``min_gap`` eye widths apart (never cross); irises follow the eye opening and
    stay inside the eye. ``source``/``target`` are (478, >=2) px. Returns each eye's gaze shift (how far
    the iris moved within the eye) in eye widths."""
    gazes = []
    for contour, upper, lower, iris in EYES:
        affine = _fit_affine(source[contour, :2], target[contour, :2])
        width = _eye_width(target, contour)
        corners = target[contour[8], :2] - target[contour[0], :2]
        down = np.array([-corners[1], corners[0]]) / max(width, 1e-6)
        down = down if down[1] >= 0 else -down
        _keep_apart(target, upper, lower, down, min_gap * width)
        # Iris: the eye's own motion plus the driver's gaze, kept inside the opening.
        carried = apply_affine(affine, source[iris, :2])
        gaze = target[iris[0], :2] - carried[0]
        opening = float(np.clip(((target[lower, :2] - target[upper, :2]) @ down).mean(), 0.0, None))
        along = gaze @ (corners / max(width, 1e-6))
        across = gaze @ down
        along = np.clip(along, -0.35 * width, 0.35 * width)
        across = np.clip(across, -0.45 * opening, 0.45 * opening)
        target[iris, :2] = carried + along * corners / max(width, 1e-6) + across * down
        gazes.append(float(np.hypot(along, across)) / max(width, 1e-6))
    return gazes


def _bite(state: WarpState, target: np.ndarray) -> Bite:
    """The teeth follow the skull (the nose tip) and the jaw (the chin), scaled with the head."""
    source = state.source_points
    down = state.down
    right = np.array([down[1], -down[0]])
    scale = float(np.linalg.norm(target[263, :2] - target[33, :2]) / max(np.linalg.norm(source[263] - source[33]), 1e-6))
    lip_line = 0.5 * (source[13] + source[14]) - source[1]  # nose tip -> resting lip line
    point = target[1, :2] + scale * ((lip_line @ down) * down + (lip_line @ right) * right)
    jaw_drop = float((target[152, :2] - target[1, :2]) @ down - scale * ((source[152] - source[1]) @ down))
    slope = float(-down[0] / down[1]) if abs(down[1]) > 1e-3 else 0.0
    return Bite(point=point.astype(np.float32), slope=slope, jaw_drop=jaw_drop)


def _tidy_inner_lips(target: np.ndarray, down: np.ndarray, min_gap: float) -> None:
    """In place: the inner lips keep ``min_gap`` px apart along the face's down direction (never cross)."""
    _keep_apart(target, INNER_UPPER, INNER_LOWER, down, min_gap)


def _keep_apart(target: np.ndarray, upper: np.ndarray, lower: np.ndarray, down: np.ndarray, gap: float) -> None:
    """In place: each ``lower`` point stays at least ``gap`` px below its ``upper`` partner along ``down``;
    pairs closer than that are spread symmetrically about their midpoint."""
    short = (target[lower, :2] - target[upper, :2]) @ down < gap
    if short.any():
        middle = 0.5 * (target[lower[short], :2] + target[upper[short], :2])
        target[upper[short], :2] = middle - 0.5 * gap * down
        target[lower[short], :2] = middle + 0.5 * gap * down
