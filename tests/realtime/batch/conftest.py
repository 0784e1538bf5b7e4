# The tiny diffusion models are shared with the offline-mode tests.
from tests.engines.offline.conftest import tiny_models  # noqa: F401
