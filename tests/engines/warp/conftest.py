import numpy as np
import pytest
from skimage import data

from engines.base import EngineOptions
from engines.landmarks import FaceFrame
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
    neutral = FaceFrame.of(face.landmarks).normalise(face.landmarks).astype(np.float32)
    return engine, state, neutral
