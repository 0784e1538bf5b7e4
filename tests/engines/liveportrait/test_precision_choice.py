"""The engine follows --precision auto: fp32 modules on an AVX2-only CPU, bf16 islands (weights converted
once) on a CPU with AMX, whatever CPU runs the tests."""

from __future__ import annotations

import pytest
import torch

from engines.base import EngineOptions
from export import precision as P
from tests.export.test_precision import EPYC, XEON


@pytest.mark.parametrize("cpu", [EPYC, XEON], ids=["avx2", "amx"])
def test_engine_precision_follows_the_cpu(cpu, synthetic_weights, monkeypatch):
    from engines.liveportrait.renderer import LivePortraitEngine
    from export.reduced import ReducedIsland

    monkeypatch.setattr(P, "read_cpu_features", lambda: cpu)
    engine = LivePortraitEngine.from_options(EngineOptions(weights=synthetic_weights, device="cpu", precision="auto"))
    generator = engine.pipeline.networks.generator
    if cpu is EPYC:
        assert isinstance(generator, torch.nn.Module)  # the plain fp32 modules
        assert next(generator.parameters()).dtype == torch.float32
    else:
        module = generator.runner.module  # runner-backed: G is one bf16 island, F and M stay fp32
        assert isinstance(module, ReducedIsland) and next(module.parameters()).dtype == torch.bfloat16
        assert next(engine.pipeline.networks.motion.runner.module.parameters()).dtype == torch.float32
    engine.close()
