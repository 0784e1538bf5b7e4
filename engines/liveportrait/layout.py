"""Names, files and key layouts of the LivePortrait checkpoints (no torch import at module level).

Official layout (``pretrained_weights/liveportrait`` in the official repo, ``liveportrait/`` in the
``KwaiVGI/LivePortrait`` Hugging Face repo)::

    base_models/appearance_feature_extractor.pth   F, flat state dict
    base_models/motion_extractor.pth               M, keys under ``detector.``
    base_models/warping_module.pth                 W
    base_models/spade_generator.pth                G, spectral-norm convs as weight_orig/u/v
    retargeting_models/stitching_retargeting_module.pth
        {"retarget_shoulder": S, "retarget_mouth": R_lip, "retarget_eye": R_eye}, keys may carry ``module.``

Our conversion (``livepuppet models convert``) writes ``<network>.safetensors`` for F, M, W, G with the
official keys and ``stitching_retargeting_module.safetensors`` with keys ``<sub-dict>.<key>``.
"""

from __future__ import annotations

from pathlib import Path

BASE_NETWORKS = ("appearance_feature_extractor", "motion_extractor", "warping_module", "spade_generator")
MLP_NETWORKS = ("stitching", "lip", "eye")
MLP_SUBDICTS = {"stitching": "retarget_shoulder", "lip": "retarget_mouth", "eye": "retarget_eye"}
NETWORK_SEEDS = {
    "appearance_feature_extractor": 1, "motion_extractor": 2, "warping_module": 3, "spade_generator": 4,
    "stitching": 5, "lip": 6, "eye": 7,
}  # fmt: skip
BASE_FILES = {name: f"base_models/{name}.pth" for name in BASE_NETWORKS}
RETARGETING_FILE = "retargeting_models/stitching_retargeting_module.pth"
RETARGETING_SAFETENSORS = "stitching_retargeting_module.safetensors"
# Where the official files may sit below the directory a user names.
ROOT_CANDIDATES = (".", "liveportrait", "pretrained_weights/liveportrait")
HF_REPO = "KwaiVGI/LivePortrait"


def build_network(name: str):
    """Our module for one network name (torch imported here)."""
    from engines.liveportrait.appearance import AppearanceFeatureExtractor
    from engines.liveportrait.generator import SPADEDecoder
    from engines.liveportrait.motion import MotionExtractor
    from engines.liveportrait.retargeting import build_mlp
    from engines.liveportrait.warping import WarpingNetwork

    factories = {
        "appearance_feature_extractor": AppearanceFeatureExtractor,
        "motion_extractor": MotionExtractor,
        "warping_module": WarpingNetwork,
        "spade_generator": SPADEDecoder,
    }
    return factories[name]() if name in factories else build_mlp(name)


def official_shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    """``{network: {official key: shape}}`` for all seven networks, from our modules (built on ``meta``)."""
    import torch

    from engines.liveportrait.generator import official_generator_shapes

    shapes = {}
    with torch.device("meta"):
        for name in BASE_NETWORKS + MLP_NETWORKS:
            plain = {k: tuple(v.shape) for k, v in build_network(name).state_dict().items()}
            shapes[name] = official_generator_shapes(plain) if name == "spade_generator" else plain
    return shapes


def write_official_checkpoints(directory: Path, tensors: dict[str, dict]) -> None:
    """Save ``{network: state dict}`` as the official ``.pth`` files (``module.`` prefixes in S/R)."""
    import torch

    directory = Path(directory)
    for name in BASE_NETWORKS:
        path = directory / BASE_FILES[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(tensors[name], path)
    retargeting = {
        MLP_SUBDICTS[name]: {f"module.{k}": v for k, v in tensors[name].items()} for name in MLP_NETWORKS
    }
    path = directory / RETARGETING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(retargeting, path)
