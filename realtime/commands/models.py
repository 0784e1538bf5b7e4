"""`livepuppet models`: check, convert, download (and, for testing, synthesise) LivePortrait weights, and
measure their expression keypoint basis."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engines.base import LivePuppetError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "models",
        help="check, convert or download the LivePortrait weights of the neural engine",
        description="Manage the weights of the 'liveportrait' engine: the official LivePortrait checkpoint "
        "files (base_models/*.pth, retargeting_models/stitching_retargeting_module.pth) or their "
        "safetensors conversion. Checkpoints are read as plain tensors only; pickled code is refused.",
    )
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    check = actions.add_parser("check", help="validate a weights folder key for key and shape for shape")
    check.add_argument("directory", type=Path, metavar="DIR")
    check.set_defaults(handler=run_check)

    convert = actions.add_parser("convert", help="write a safetensors copy of a weights folder")
    convert.add_argument("directory", type=Path, metavar="DIR")
    convert.add_argument("out", type=Path, metavar="OUT")
    convert.set_defaults(handler=run_convert)

    download = actions.add_parser(
        "download", help="fetch the official weights from Hugging Face (needs internet)",
        description="Download the LivePortrait human-model checkpoints from the KwaiVGI/LivePortrait "
        "Hugging Face repository into DIR/liveportrait/ and check them.",
    )  # fmt: skip
    download.add_argument("directory", type=Path, metavar="DIR")
    download.set_defaults(handler=run_download)

    synthetic = actions.add_parser(
        "synthetic", help="write deterministic synthetic weights in the official layout (testing, benchmarks)",
        description="Write meaningless but correctly shaped weights (the reference README's formula) so the "
        "neural path can run without the real checkpoints. The pictures they give are noise.",
    )  # fmt: skip
    synthetic.add_argument("directory", type=Path, metavar="DIR")
    synthetic.add_argument("--manifests", type=Path, metavar="DIR",
                           help="reference manifests folder: take the specs from it and check every SHA-256")  # fmt: skip
    synthetic.set_defaults(handler=run_synthetic)

    basis = actions.add_parser(
        "basis", help="measure which implicit keypoints move for each expression (the edit basis)",
        description="Edit a frontal portrait feature by feature and measure how the weights' expression "
        "keypoints respond; prints the keypoints carrying most of each feature's motion.",
    )  # fmt: skip
    basis.add_argument("--weights", type=Path, required=True, metavar="DIR", help="LivePortrait weights folder")
    basis.add_argument("--source", type=Path, required=True, metavar="IMG", help="a frontal portrait to measure on")
    basis.add_argument("--out", type=Path, required=True, metavar="FILE", help="the basis JSON to write")
    basis.set_defaults(handler=run_basis)


def run_check(args: argparse.Namespace) -> int:
    from engines.liveportrait.checkpoints import check_weights

    weights = check_weights(args.directory)
    files = sorted({str(p.relative_to(weights.root)) for p in weights.files.values()})
    print(f"{weights.root}: LivePortrait weights OK ({weights.format}: {', '.join(files)})")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from engines.liveportrait.checkpoints import convert_to_safetensors

    written = convert_to_safetensors(args.directory, args.out)
    print(f"wrote {len(written)} safetensors files to {args.out}")
    return 0


def download_official(directory: Path) -> Path:
    """Fetch the official human-model checkpoints into ``directory/liveportrait``; returns that folder."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise LivePuppetError("downloading needs huggingface_hub: pip install 'livepuppet[neural]'") from exc
    from engines.liveportrait.layout import BASE_FILES, HF_REPO, RETARGETING_FILE

    patterns = [f"liveportrait/{name}" for name in [*BASE_FILES.values(), RETARGETING_FILE]]
    try:
        snapshot_download(repo_id=HF_REPO, allow_patterns=patterns, local_dir=str(directory))
    except Exception as exc:  # network, auth, disk: all become one clear message
        raise LivePuppetError(
            f"could not download {HF_REPO} from Hugging Face ({type(exc).__name__}: {exc}); without internet, "
            f"copy the official pretrained_weights/liveportrait folder into {directory} instead"
        ) from exc
    return Path(directory) / "liveportrait"


def run_download(args: argparse.Namespace) -> int:
    from engines.liveportrait.checkpoints import check_weights

    folder = download_official(args.directory)
    check_weights(folder)
    print(f"downloaded and checked the LivePortrait weights in {folder}")
    return 0


def run_synthetic(args: argparse.Namespace) -> int:
    from engines.liveportrait.synthetic import write_synthetic_checkpoints

    write_synthetic_checkpoints(args.directory, manifest_dir=args.manifests)
    print(f"wrote synthetic LivePortrait weights (official layout) to {args.directory}")
    return 0


def run_basis(args: argparse.Namespace) -> int:
    import torch

    from engines.base import create_engine
    from engines.liveportrait.checkpoints import load_networks
    from engines.liveportrait.pipeline import LivePortraitPipeline
    from engines.liveportrait_expressions import measure_basis
    from realtime.offline import load_portrait

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    pipeline = LivePortraitPipeline(load_networks(args.weights, device), device)
    image, face = load_portrait(args.source, None)
    warp = create_engine("warp")
    try:
        basis = measure_basis(pipeline, warp, image, face)
    finally:
        warp.close()
    basis.save(args.out)
    print(f"{'feature':<10} {'side':<4} keypoints carrying 80 % of the motion")
    for group, sign in ((basis.positive, 1), (basis.negative, -1)):
        for name in group:
            print(f"{name:<10} {'+' if sign > 0 else '-':<4} {basis.moving_keypoints(name, sign)}")
    return 0
