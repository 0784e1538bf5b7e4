"""`livepuppet export`: the neural engine's graphs as ONNX files, or as TensorRT engines for this GPU."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from engines.base import LivePuppetError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the neural engine to ONNX or build TensorRT engines",
        description="Export the LivePortrait-compatible networks (appearance, motion, warping, generator and "
        "the three retargeting MLPs) as fixed-shape ONNX graphs, checked and shape-inferred. The 5-D grid "
        "sample is written with native ops, so TensorRT builds the graphs without custom plugins. With "
        "--runtime trt the engines are built for this machine's GPU (needs `pip install tensorrt`).",
    )
    parser.add_argument(
        "--weights", type=Path, required=True, metavar="DIR", help="LivePortrait weights folder"
    )
    parser.add_argument(
        "--runtime", choices=("onnx", "trt"), default="onnx", help="what to write (default: onnx)"
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--fp16", action="store_true", help="trt: build fp16 engines (normalisations stay fp32)"
    )
    parser.add_argument(
        "--native-grid-sample",
        action="store_true",
        help="onnx: keep the 5-D GridSample op (onnxruntime only; TensorRT cannot build it without a plugin)",
    )
    parser.set_defaults(handler=run_export)


def run_export(args) -> int:
    from export.graphs import GRAPHS
    from export.networks import REDUCED_GRAPHS, ensure_onnx
    from export.onnx_export import ExportConfig
    from realtime.outputs import check_output_folder, write_text_atomic

    if args.fp16 and args.runtime != "trt":
        raise LivePuppetError("--fp16 applies to --runtime trt (the ONNX graphs are fp32)")
    if args.native_grid_sample and args.runtime == "trt":
        raise LivePuppetError("--native-grid-sample cannot be built by TensorRT without a plugin")
    if args.runtime == "trt":
        from export.tensorrt import import_tensorrt

        import_tensorrt()  # fail before the (slow) ONNX export when TensorRT is missing
    config = ExportConfig(plugin_free_grid_sample=not args.native_grid_sample)
    out = check_output_folder(args.out, [args.weights])
    onnx_dir = out if args.runtime == "onnx" else out / "onnx"
    paths = ensure_onnx(args.weights, onnx_dir, config)
    manifest = {
        "opset": config.opset_version,
        "grid_sample": "native" if args.native_grid_sample else "plugin-free",
        "graphs": {name: {"file": str(path.relative_to(out)), "inputs": {k: list(v) for k, v in GRAPHS[name].inputs.items()},
                          "outputs": list(GRAPHS[name].outputs)} for name, path in paths.items()},
    }  # fmt: skip
    if args.runtime == "trt":
        from export.engine_cache import EngineCache
        from export.tensorrt import cached_engine

        cache = EngineCache(out / "trt")
        for name, path in paths.items():
            fp16 = args.fp16 and name in REDUCED_GRAPHS  # the MLPs stay fp32
            cached_engine(path, cache, fp16=fp16)
            engine, meta = cache.paths(name, "fp16" if fp16 else "fp32")
            manifest["graphs"][name]["engine"] = str(engine.relative_to(out))
            manifest["graphs"][name]["key"] = json.loads(meta.read_text())
    write_text_atomic(out / "export.json", json.dumps(manifest, indent=1))
    log.info("wrote %d graphs to %s", len(paths), out)
    return 0
