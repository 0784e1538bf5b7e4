"""Deterministic synthetic weights for the LivePortrait networks (reference README §2), numpy only.

The weights are meaningless pictures-wise but have the official layout and realistic statistics, so the
whole path (loader, modules, composition, engine, benchmarks) runs without the real checkpoints, and the
official code's outputs on the same weights (``../shared/reference/liveportrait/vectors_*.npz``) can be
reproduced.

Per tensor: ``stream = seed * 65536 + index`` (index = position of the key in the sorted key list of its
(sub)network); element k gets ``r_k = 2 * u(splitmix64(stream * 2**32 + k)) - 1`` and the value
``float32(offset + scale * r_k)``; spectral-norm vectors are normalised as the README says.

The init of every key comes either from a reference manifest (``manifest_<net>.json``, which also carries
a SHA-256 per tensor to check against) or from the README's rules applied to our own modules' key lists;
both give the same bytes (a test checks the rules against the manifests).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.base import LivePuppetError
from engines.liveportrait.layout import BASE_NETWORKS, MLP_NETWORKS, NETWORK_SEEDS

log = logging.getLogger(__name__)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_CHUNK = 1 << 21


@dataclass(frozen=True, slots=True)
class InitRule:
    kind: str  # affine | zeros | unit_norm | spectral_u
    offset: float = 0.0
    scale: float = 0.0
    weight_key: str = ""  # spectral_u: the weight_orig key
    v_key: str = ""  # spectral_u: the weight_v key


@dataclass(frozen=True, slots=True)
class TensorSpec:
    key: str
    shape: tuple[int, ...]
    dtype: str  # float32 | int64
    init: InitRule
    sha256: str | None = None  # from a manifest, when known


def uniform_symmetric(stream: int, n: int) -> np.ndarray:
    """``r_k`` in [-1, 1) for k = 0..n-1 of one stream, float64 ``(n,)``."""
    out = np.empty(n, np.float64)
    base = np.uint64(stream) << np.uint64(32)
    with np.errstate(over="ignore"):
        for start in range(0, n, _CHUNK):
            z = np.arange(start, min(n, start + _CHUNK), dtype=np.uint64) + base + _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
            z ^= z >> np.uint64(31)
            out[start : start + len(z)] = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return out * 2.0 - 1.0


def generate_state_dict(specs: list[TensorSpec], seed: int) -> dict[str, np.ndarray]:
    """All tensors of one (sub)network, keyed as in ``specs`` (index = sorted-key position)."""
    order = sorted(spec.key for spec in specs)
    index = {key: i for i, key in enumerate(order)}
    by_key = {spec.key: spec for spec in specs}
    # spectral_u needs its weight_orig and weight_v first: generate it last.
    deferred = [k for k in order if by_key[k].init.kind == "spectral_u"]
    values: dict[str, np.ndarray] = {}
    for key in [k for k in order if by_key[k].init.kind != "spectral_u"] + deferred:
        spec = by_key[key]
        n = math.prod(spec.shape)
        stream = seed * 65536 + index[key]
        rule = spec.init
        if rule.kind == "zeros":
            value = np.zeros(spec.shape, np.int64 if spec.dtype == "int64" else np.float32)
        elif rule.kind == "affine":
            value = (rule.offset + rule.scale * uniform_symmetric(stream, n)).astype(np.float32)
        elif rule.kind == "unit_norm":
            r = uniform_symmetric(stream, n)
            value = (r / np.linalg.norm(r)).astype(np.float32)
        elif rule.kind == "spectral_u":
            weight = values[rule.weight_key].astype(np.float64).reshape(spec.shape[0], -1)
            wv = weight @ values[rule.v_key].astype(np.float64)
            value = (wv / np.linalg.norm(wv)).astype(np.float32)
        else:
            raise ValueError(f"unknown init kind {rule.kind!r} for {key}")
        values[key] = value.reshape(spec.shape)
    return {key: values[key] for key in order}


def tensor_sha256(value: np.ndarray) -> str:
    return hashlib.sha256(
        np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<")).tobytes()
    ).hexdigest()


def check_against_manifest(values: dict[str, np.ndarray], specs: list[TensorSpec], what: str) -> None:
    bad = [s.key for s in specs if s.sha256 is not None and tensor_sha256(values[s.key]) != s.sha256]
    if bad:
        raise LivePuppetError(
            f"synthetic {what}: {len(bad)} tensors differ from the manifest: {', '.join(bad[:5])}"
        )


# -- where the specs come from -------------------------------------------------------------------------


def _rule_from_json(init: dict) -> InitRule:
    return InitRule(
        kind=init["kind"],
        offset=float(init.get("offset", 0.0)),
        scale=float(init.get("scale", 0.0)),
        weight_key=init.get("weight_key", ""),
        v_key=init.get("v_key", ""),
    )


def _specs_from_entries(entries: list[dict]) -> list[TensorSpec]:
    return [
        TensorSpec(e["key"], tuple(e["shape"]), e["dtype"], _rule_from_json(e["init"]), e.get("sha256"))
        for e in entries
    ]


def specs_from_manifests(manifest_dir: Path) -> dict[str, list[TensorSpec]]:
    """Specs per network name (``appearance_feature_extractor`` ... ``stitching``, ``lip``, ``eye``)."""
    manifest_dir = Path(manifest_dir)
    specs: dict[str, list[TensorSpec]] = {}
    for name in BASE_NETWORKS:
        manifest = json.loads((manifest_dir / f"manifest_{name}.json").read_text())
        specs[name] = _specs_from_entries(manifest["tensors"])
    manifest = json.loads((manifest_dir / "manifest_stitching_retargeting_module.json").read_text())
    for name in MLP_NETWORKS:
        specs[name] = _specs_from_entries(manifest["submodules"][name]["tensors"])
    return specs


_HEAD_WEIGHT_GAIN = {
    "fc_kp": 0.3,
    "fc_exp": 0.05,
    "fc_t": 0.05,
    "fc_scale": 0.1,
    "fc_pitch": 1.0,
    "fc_yaw": 1.0,
    "fc_roll": 1.0,
}
_HEAD_BIAS = {"fc_kp": (0.0, 0.05), "fc_exp": (0.0, 0.01), "fc_t": (0.0, 0.02), "fc_scale": (1.0, 0.05),
              "fc_pitch": (0.0, 0.1), "fc_yaw": (0.0, 0.1), "fc_roll": (0.0, 0.1)}  # fmt: skip


def rule_for_key(key: str, shapes: dict[str, tuple[int, ...]]) -> InitRule:
    """The README §2 rules for one official key, given every key's shape in that network."""
    shape = shapes[key]
    owner, _, leaf = key.rpartition(".")
    head = owner.rpartition(".")[2]
    if leaf == "num_batches_tracked":
        return InitRule("zeros")
    if leaf == "running_mean":
        return InitRule("affine", 0.0, 0.1)
    if leaf == "running_var":
        return InitRule("affine", 1.0, 0.25)
    if leaf == "weight_v":
        return InitRule("unit_norm")
    if leaf == "weight_u":
        return InitRule("spectral_u", weight_key=f"{owner}.weight_orig", v_key=f"{owner}.weight_v")
    if head == "grn":
        return InitRule("affine", 0.0, 0.5 if leaf == "gamma" else 0.1)
    weight_shape = shapes.get(f"{owner}.weight", shapes.get(f"{owner}.weight_orig"))
    is_norm = weight_shape is not None and len(weight_shape) == 1
    if leaf == "weight" and is_norm:
        return InitRule("affine", 1.0, 0.2)
    if leaf == "bias" and is_norm:
        return InitRule("affine", 0.0, 0.1)
    if leaf == "bias":
        offset, scale = _HEAD_BIAS.get(head, (0.0, 0.1))
        return InitRule("affine", offset, scale)
    if leaf in ("weight", "weight_orig"):
        gain = _HEAD_WEIGHT_GAIN.get(head, 1.0)
        return InitRule("affine", 0.0, gain * math.sqrt(3.0 / math.prod(shape[1:])))
    raise ValueError(f"no synthetic-weight rule for {key}")


def specs_from_rules(official_shapes: dict[str, dict[str, tuple[int, ...]]]) -> dict[str, list[TensorSpec]]:
    """Specs from the README rules for ``{network: {official key: shape}}`` (see ``layout``)."""
    specs = {}
    for name, shapes in official_shapes.items():
        specs[name] = [
            TensorSpec(
                k,
                tuple(s),
                "int64" if k.endswith("num_batches_tracked") else "float32",
                rule_for_key(k, shapes),
            )
            for k, s in shapes.items()
        ]
    return specs


# -- writing a weights directory -----------------------------------------------------------------------


def generate_all(specs: dict[str, list[TensorSpec]], verify: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Every network's synthetic state dict (numpy), checked against manifest hashes where present."""
    out = {}
    for name, net_specs in specs.items():
        values = generate_state_dict(net_specs, NETWORK_SEEDS[name])
        if verify:
            check_against_manifest(values, net_specs, name)
        out[name] = values
    return out


def write_synthetic_checkpoints(
    directory: Path, manifest_dir: Path | None = None, verify: bool = True
) -> Path:
    """Write the seven synthetic networks as official ``.pth`` files under ``directory``.

    Layout (as the official pipeline's ``pretrained_weights/liveportrait``):
    ``base_models/{appearance_feature_extractor,motion_extractor,warping_module,spade_generator}.pth`` and
    ``retargeting_models/stitching_retargeting_module.pth`` (a dict of three sub-dicts whose keys carry the
    ``module.`` prefix the official checkpoints have). With ``manifest_dir`` the specs (and SHA-256 checks)
    come from the reference manifests, otherwise from the README rules. Needs torch to write ``.pth``.
    """
    import torch

    from engines.liveportrait.layout import official_shapes, write_official_checkpoints

    specs = (
        specs_from_manifests(manifest_dir)
        if manifest_dir is not None
        else specs_from_rules(official_shapes())
    )
    arrays = generate_all(specs, verify=verify)
    tensors = {name: {k: torch.from_numpy(v) for k, v in sd.items()} for name, sd in arrays.items()}
    write_official_checkpoints(Path(directory), tensors)
    log.info("wrote synthetic LivePortrait checkpoints to %s", directory)
    return Path(directory)
