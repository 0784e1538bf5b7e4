import dataclasses

import cv2
import numpy as np
import pytest

from engines.base import EngineOptions, Face, Motion
from engines.landmarks import euler_to_rotation
from engines.mesh import MESH_POINTS, mirror, triangles
from engines.retarget import Retargeter
from engines.warp.compose import box_grid
from engines.warp.engine import WarpConfig, WarpEngine
from engines.warp.turn import TurnMaps, blend_override

RIGHT_CHEEK = 205  # the subject's right cheek (image left); its mirror image is 425


def _squeezed(points: np.ndarray, share: float = 0.35) -> np.ndarray:
    """A frontal face's landmarks with the subject's right half (image left) squeezed towards the midline,
    as a turned portrait shows its far side."""
    out = points.copy()
    middle = float(points[[1, 4, 6, 168, 152], 0].mean())
    far = out[:, 0] < middle
    out[far, 0] = middle - share * (middle - out[far, 0])
    return out


def _grid(points: np.ndarray, step: float = 3.0) -> np.ndarray:
    x0, y0 = np.floor(points[:MESH_POINTS, :2].min(axis=0)).astype(int) - 10
    x1, y1 = np.ceil(points[:MESH_POINTS, :2].max(axis=0)).astype(int) + 10
    return box_grid((int(x0), int(y0), int(x1), int(y1)), step).astype(np.float32)


def _at(grid: np.ndarray, point: np.ndarray) -> tuple[int, int]:
    distance = np.linalg.norm(grid - point[:2], axis=-1)
    return np.unravel_index(np.argmin(distance), distance.shape)


def test_a_frontal_portrait_hides_nothing(astronaut):
    _, face = astronaut
    maps = TurnMaps.of(face.landmarks)
    assert not maps.hidden.any()
    assert not maps.weights(face.landmarks, 1.0).any()
    assert (np.sign(maps.source_areas) == np.sign(maps.source_areas.sum())).mean() > 0.95  # all face the camera


def test_the_squeezed_side_is_found_hidden_and_only_it(astronaut):
    _, face = astronaut
    portrait = _squeezed(face.landmarks)
    maps = TurnMaps.of(portrait)
    image = mirror()
    far = portrait[:MESH_POINTS, 0] < portrait[image, 0]  # left of its own mirror image: the squeezed side
    assert maps.hidden[RIGHT_CHEEK] == pytest.approx(1.0)
    assert not maps.hidden[~far].any()


def test_the_revealed_far_side_reads_the_near_side_mirrored(astronaut):
    """Driven frontal, the squeezed portrait's far cheek reads the portrait where the near cheek is (its
    mirror image) instead of the squeezed sliver; the near side keeps its own pixels."""
    _, face = astronaut
    portrait = _squeezed(face.landmarks)
    target = face.landmarks.copy()  # the frontal face: the far side revealed
    grid = _grid(target)
    maps = TurnMaps.of(portrait)
    turn = maps.frame(grid.copy(), grid, target, 1.0)
    (mirrored,) = turn.overrides  # nothing lies over anything: only the mirror fill
    far_cell = _at(grid, target[RIGHT_CHEEK])
    assert mirrored.weight[far_cell] > 0.9
    near_image = portrait[mirror()[RIGHT_CHEEK], :2]  # where the portrait shows the near cheek
    assert np.linalg.norm(mirrored.map[far_cell] - near_image) < 3.0 * 1.5  # within a grid step and a half
    assert mirrored.weight[_at(grid, target[mirror()[RIGHT_CHEEK]])] == 0.0


def test_a_turn_away_shows_the_nose_in_front_of_the_far_cheek(astronaut):
    _, face = astronaut
    motion = Motion.identity(Retargeter(face).source_points)
    target = Retargeter(face).retarget(dataclasses.replace(motion, rotation=euler_to_rotation(0, 60, 0)))
    grid = _grid(target)
    turn = TurnMaps.of(face.landmarks).frame(grid.copy(), grid, target, 1.0)
    assert turn.occluded is not None
    front = turn.overrides[0]
    nose = _at(grid, target[1])
    assert front.weight[nose] > 0.9
    assert np.linalg.norm(front.map[nose] - face.landmarks[1, :2]) < 3.0 * 1.5  # the portrait's nose tip


def test_a_slight_turn_folds_only_the_outline_and_blends_nothing_in(astronaut):
    """At 10° the triangles along the face's outline turn away (edge-on already); the portrait shows hair
    across them, which the front surface's map smeared over the cheek: no occlusion for them alone."""
    _, face = astronaut
    motion = Motion.identity(Retargeter(face).source_points)
    maps = TurnMaps.of(face.landmarks)
    for yaw in (10, -10):
        target = Retargeter(face).retarget(dataclasses.replace(motion, rotation=euler_to_rotation(0, yaw, 0)))
        areas = np.array([cv2.contourArea(target[t, :2].astype(np.float32), oriented=True) for t in triangles()])
        assert ((np.sign(areas) != np.sign(maps.source_areas.sum())) & (np.abs(areas) > 1.0)).any()  # they fold
        grid = _grid(target)
        turn = maps.frame(grid.copy(), grid, target, 1.0)
        assert turn.occluded is None and all(o.shading > 0 for o in turn.overrides)  # no front surface


def test_a_frontal_portrait_driven_frontally_is_unchanged_bit_for_bit(astronaut, warp):
    image, face = astronaut
    _, _, neutral = warp
    plain = WarpEngine(EngineOptions(), WarpConfig(turn=None))
    turning = WarpEngine(EngineOptions(), WarpConfig())
    plain_state, turning_state = plain.prepare(image, face), turning.prepare(image, face)
    talking = Motion.identity(neutral)
    talking.expression[[13, 14], 1] = [-0.1, 0.15]  # the mouth opens
    rolled = dataclasses.replace(
        talking, rotation=euler_to_rotation(0, 0, 12), scale=1.1, translation=np.array([0.2, -0.1], np.float32)
    )
    for motion in (Motion.identity(neutral), talking, rolled):
        assert np.array_equal(plain.render(plain_state, motion), turning.render(turning_state, motion))


def test_blending_reads_the_layer_through_the_map_by_the_weight():
    rng = np.random.default_rng(0)
    layer = (rng.integers(0, 255, (40, 50, 3), dtype=np.uint8), rng.random((40, 50), dtype=np.float32))
    grid = np.stack(np.meshgrid(np.arange(50, dtype=np.float32), np.arange(40, dtype=np.float32)), axis=-1)
    backward = grid.copy()
    backward[..., 0] = 49 - backward[..., 0]  # the layer mirrored left to right
    warped = (layer[0].copy(), layer[1].copy())
    weight = np.zeros((40, 50), np.float32)
    weight[:, 30:] = 1.0
    blend_override(warped, layer, backward, weight)
    assert np.array_equal(warped[0][:, :30], layer[0][:, :30])
    assert np.array_equal(warped[0][:, 30:], layer[0][:, ::-1][:, 30:])
    assert np.allclose(warped[1][:, 30:], layer[1][:, ::-1][:, 30:])
