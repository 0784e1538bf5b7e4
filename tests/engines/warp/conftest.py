import numpy as np
import pytest
from skimage import data

from engines.base import EngineOptions
from engines.landmarks import neutral_points
from engines.warp.engine import WarpEngine
from realtime.tracker import find_portrait_face


@pytest.fixture(scope="session")
def astronaut():
    image = np.ascontiguousarray(data.astronaut())
    return image, find_portrait_face(image, name="astronaut")


@pytest.fixture()
def warp(astronaut):
    image, face = astronaut
    engine = WarpEngine(EngineOptions())
    state = engine.prepare(image, face)
    neutral = neutral_points(face.landmarks)
    return engine, state, neutral
