# The offline modes' fixtures (tiny models, a portrait, a clip with sound) are shared with the engine tests.
from tests.engines.offline.conftest import driving_with_audio, portrait, tiny_models  # noqa: F401
