"""The synthetic-weight generator against the reference manifests (README §2)."""

from __future__ import annotations

import numpy as np
import pytest

from engines.liveportrait import synthetic as S
from engines.liveportrait.layout import MLP_NETWORKS, NETWORK_SEEDS, official_shapes

MASK = (1 << 64) - 1


def splitmix_python(counter: int) -> float:
    """An independent pure-Python splitmix64 -> r in [-1, 1)."""
    z = (counter + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return 2 * ((z >> 11) * 2.0**-53) - 1


def test_numpy_stream_matches_pure_python():
    stream = 4 * 65536 + 17
    values = S.uniform_symmetric(stream, 5000)
    for k in (0, 1, 2, 4095, 4999):
        assert values[k] == splitmix_python((stream << 32) + k)
    assert values.min() >= -1 and values.max() < 1


def test_our_modules_have_exactly_the_manifest_keys_and_shapes(reference_dir):
    manifests = S.specs_from_manifests(reference_dir)
    ours = official_shapes()
    assert set(ours) == set(manifests)
    for name, specs in manifests.items():
        assert {s.key: s.shape for s in specs} == ours[name], name


def test_rules_reproduce_every_manifest_init(reference_dir):
    manifests = S.specs_from_manifests(reference_dir)
    rules = S.specs_from_rules(official_shapes())
    for name, specs in manifests.items():
        derived = {s.key: s for s in rules[name]}
        for spec in specs:
            rule = derived[spec.key].init
            assert (rule.kind, rule.weight_key, rule.v_key) == (
                spec.init.kind,
                spec.init.weight_key,
                spec.init.v_key,
            )
            assert rule.offset == pytest.approx(spec.init.offset, abs=1e-15), spec.key
            assert rule.scale == pytest.approx(spec.init.scale, rel=1e-15), spec.key


@pytest.mark.parametrize("name", [*MLP_NETWORKS, "appearance_feature_extractor"])
def test_generated_tensors_match_manifest_hashes(reference_dir, name):
    specs = S.specs_from_manifests(reference_dir)[name]
    values = S.generate_state_dict(specs, NETWORK_SEEDS[name])
    S.check_against_manifest(values, specs, name)  # raises on any SHA-256 mismatch
    first = next(s for s in specs if s.init.kind == "affine")
    assert values[first.key].dtype == np.float32


def test_a_wrong_seed_is_caught(reference_dir):
    from engines.base import LivePuppetError

    specs = S.specs_from_manifests(reference_dir)["lip"]
    with pytest.raises(LivePuppetError, match="differ from the manifest"):
        S.check_against_manifest(S.generate_state_dict(specs, seed=5), specs, "lip")


def test_spectral_vectors_give_positive_sigma(reference_dir):
    specs = [
        s for s in S.specs_from_manifests(reference_dir)["spade_generator"] if s.key.startswith("up_1.conv_1")
    ]
    values = S.generate_state_dict(specs, NETWORK_SEEDS["spade_generator"])
    weight = values["up_1.conv_1.weight_orig"].reshape(64, -1).astype(np.float64)
    u, v = values["up_1.conv_1.weight_u"], values["up_1.conv_1.weight_v"]
    assert np.linalg.norm(v) == pytest.approx(1, abs=1e-6)
    assert float(u @ weight @ v) > 0
