"""Loading LivePortrait weights safely: official ``.pth`` files (``torch.load(weights_only=True)``, never
arbitrary unpickling) or our safetensors conversion; every file is checked key for key and shape for
shape against our modules before anything is loaded, and a mismatch names the keys."""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engines.base import LivePuppetError
from engines.liveportrait.generator import fold_spectral_norm
from engines.liveportrait.layout import (
    BASE_FILES,
    BASE_NETWORKS,
    MLP_NETWORKS,
    MLP_SUBDICTS,
    RETARGETING_FILE,
    RETARGETING_SAFETENSORS,
    ROOT_CANDIDATES,
    build_network,
    official_shapes,
)

log = logging.getLogger(__name__)
_SHOWN = 6  # keys named per category in an error message


@dataclass(frozen=True, slots=True)
class WeightFiles:
    """Which file holds each network (one file holds all three MLPs)."""

    root: Path
    files: dict[str, Path]  # network name -> file
    format: str  # "pth" | "safetensors"


def locate(directory: Path) -> WeightFiles:
    """Find the weight files below ``directory`` (official layout or our safetensors conversion)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LivePuppetError(f"weights directory {directory} does not exist")
    for sub in ROOT_CANDIDATES:
        root = directory / sub
        st = {name: root / f"{name}.safetensors" for name in BASE_NETWORKS}
        st |= {name: root / RETARGETING_SAFETENSORS for name in MLP_NETWORKS}
        if all(p.is_file() for p in st.values()):
            return WeightFiles(root, st, "safetensors")
        pth = {name: root / BASE_FILES[name] for name in BASE_NETWORKS}
        pth |= {name: root / RETARGETING_FILE for name in MLP_NETWORKS}
        if any(p.is_file() for p in pth.values()):
            missing = sorted({str(p.relative_to(root)) for p in pth.values() if not p.is_file()})
            if missing:
                raise LivePuppetError(f"{root} lacks LivePortrait weight files: {', '.join(missing)}")
            return WeightFiles(root, pth, "pth")
    raise LivePuppetError(
        f"no LivePortrait weights in {directory}: expected {BASE_FILES['motion_extractor']} (official layout) "
        f"or motion_extractor.safetensors (`livepuppet models convert`); `livepuppet models download DIR` fetches them"
    )


def read_pth(path: Path) -> dict:
    """``torch.load`` with ``weights_only=True``: tensors and plain containers only, no code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LivePuppetError(
            f"{path}: refused to load, the file is not a plain tensor checkpoint ({first})"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise LivePuppetError(f"{path}: cannot read checkpoint ({exc})") from exc


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise LivePuppetError(f"{path}: cannot read safetensors file ({exc})") from exc


def _strip_module(state: dict) -> dict:
    return {k.replace("module.", ""): v for k, v in state.items()}


def read_official_state_dicts(weights: WeightFiles) -> dict[str, dict[str, torch.Tensor]]:
    """``{network: official state dict}`` as stored (G still with spectral-norm tensors)."""
    states: dict[str, dict] = {}
    reader = read_safetensors if weights.format == "safetensors" else read_pth
    for name in BASE_NETWORKS:
        states[name] = reader(weights.files[name])
    bundle = reader(weights.files["stitching"])
    for name in MLP_NETWORKS:
        sub = MLP_SUBDICTS[name]
        if weights.format == "safetensors":
            state = {k[len(sub) + 1 :]: v for k, v in bundle.items() if k.startswith(sub + ".")}
        else:
            state = bundle.get(sub) if isinstance(bundle, dict) else None
        if not isinstance(state, dict) or not state:
            raise LivePuppetError(f"{weights.files[name]}: no '{sub}' sub-dict (the {name} network)")
        states[name] = _strip_module(state)
    return states


def _names(keys, total: int) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" (+{total - _SHOWN} more)" if total > _SHOWN else "")


def validate(name: str, path: Path, state: dict, expected: dict[str, tuple[int, ...]]) -> None:
    """Raise naming the file and the missing / unexpected / wrongly shaped keys."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LivePuppetError(f"{path}: not a flat state dict of tensors for the {name} network")
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = sorted(k for k in expected if k not in state and k not in optional)
    unexpected = sorted(k for k in state if k not in expected)
    wrong = sorted(k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k]))
    if not (missing or unexpected or wrong):
        return
    parts = []
    if missing:
        parts.append(f"missing keys: {_names(missing, len(missing))}")
    if unexpected:
        parts.append(f"unexpected keys: {_names(unexpected, len(unexpected))}")
    if wrong:
        shapes = [f"{k} {tuple(state[k].shape)} != {tuple(expected[k])}" for k in wrong]
        parts.append(f"wrong shapes: {_names(shapes, len(shapes))}")
    raise LivePuppetError(f"{path} does not match the LivePortrait {name} network: {'; '.join(parts)}")


def load_state_dicts(directory: Path) -> tuple[WeightFiles, dict[str, dict[str, torch.Tensor]]]:
    """Locate, read and validate every network's official state dict."""
    weights = locate(directory)
    states = read_official_state_dicts(weights)
    expected = official_shapes()
    for name, state in states.items():
        validate(name, weights.files[name], state, expected[name])
    return weights, states


def check_weights(directory: Path) -> WeightFiles:
    """What ``livepuppet models check`` does: read and validate every file (no network is built)."""
    weights, states = load_state_dicts(directory)
    for name, state in states.items():
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise LivePuppetError(f"{weights.files[name]}: non-finite values in {_names(bad, len(bad))}")
    return weights


@dataclass(frozen=True, slots=True)
class LivePortraitNetworks:
    """The seven networks in eval mode, on one device, fp32."""

    appearance: nn.Module  # F
    motion: nn.Module  # M
    warping: nn.Module  # W
    generator: nn.Module  # G (spectral norm folded)
    stitching: nn.Module  # S
    lip: nn.Module  # R_lip
    eye: nn.Module  # R_eye


_FIELDS = {
    "appearance_feature_extractor": "appearance",
    "motion_extractor": "motion",
    "warping_module": "warping",
    "spade_generator": "generator",
    "stitching": "stitching",
    "lip": "lip",
    "eye": "eye",
}


def load_networks(directory: Path, device: str | torch.device = "cpu") -> LivePortraitNetworks:
    """Build our modules and load a weights directory into them (strictly)."""
    _, states = load_state_dicts(directory)
    modules = {}
    for name, state in states.items():
        module = build_network(name)
        if name == "spade_generator":
            state = fold_spectral_norm(state)
        module.load_state_dict(state, strict=False)  # num_batches_tracked may be absent; keys validated above
        modules[_FIELDS[name]] = module.to(device).eval().requires_grad_(False)
    log.info("loaded LivePortrait networks from %s on %s", directory, device)
    return LivePortraitNetworks(**modules)


def convert_to_safetensors(directory: Path, out: Path) -> list[Path]:
    """Write our safetensors conversion of a (validated) weights directory; keys stay official."""
    from safetensors.torch import save_file

    weights, states = load_state_dicts(directory)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in BASE_NETWORKS:
        path = out / f"{name}.safetensors"
        save_file({k: v.contiguous() for k, v in states[name].items()}, str(path))
        written.append(path)
    bundle = {f"{MLP_SUBDICTS[n]}.{k}": v.contiguous() for n in MLP_NETWORKS for k, v in states[n].items()}
    path = out / RETARGETING_SAFETENSORS
    save_file(bundle, str(path))
    written.append(path)
    log.info("converted %s (%s) to %s", weights.root, weights.format, out)
    return written
