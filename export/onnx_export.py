"""torch -> ONNX for the neural engine's graphs (:mod:`export.graphs`), checked and shape-inferred.

Opset 18 by default: with the plugin-free grid sample the graphs use only ops that onnxruntime and TensorRT
(8.6 and later) build natively -- at 18, GELU is written with ``Erf`` (the ``Gelu`` op only exists from
opset 20) and LayerNormalization / InstanceNormalization map to TensorRT's normalization layer. The native
5-D ``GridSample`` (``plugin_free_grid_sample=False``, onnxruntime only) needs opset 20.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from export.graphs import GRAPHS, GraphSpec, graph_module
from export.grid_sample import exportable

log = logging.getLogger(__name__)
# The exporter's own loggers report every rewrite pass at INFO; keep them to errors during an export.
_EXPORTER_LOGGERS = ("onnx_ir", "onnxscript", "torch.onnx", "torch.export", "torch._export")


@contextlib.contextmanager
def _quiet_exporter():
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True, slots=True)
class ExportConfig:
    plugin_free_grid_sample: bool = True  # False: native 5-D GridSample (onnxruntime only, not TensorRT)
    opset: int | None = None  # None: 18, or 20 with the native 5-D GridSample (the first opset that has it)

    @property
    def opset_version(self) -> int:
        if self.opset is not None:
            return self.opset
        return 18 if self.plugin_free_grid_sample else 20

    @property
    def tag(self) -> str:
        """Distinguishes exports of the same weights made with different settings."""
        return f"opset{self.opset_version}-{'pf' if self.plugin_free_grid_sample else 'native'}gs"


def export_graph(spec: GraphSpec, networks, path: Path, config: ExportConfig = ExportConfig()) -> Path:
    """Export one graph to ``path`` (fixed shapes, fp32), then run the ONNX checker and shape inference."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = graph_module(spec, networks)
    example = tuple(torch.zeros(shape) for shape in spec.inputs.values())
    start = time.perf_counter()
    tmp = path.with_suffix(".tmp.onnx")
    with (
        exportable(config.plugin_free_grid_sample),
        torch.no_grad(),
        warnings.catch_warnings(),
        _quiet_exporter(),
    ):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module,
            example,
            input_names=list(spec.inputs),
            output_names=list(spec.outputs),
            opset_version=config.opset_version,
            dynamo=True,
            external_data=False,
            optimize=True,
            verbose=False,
        )
    program.save(str(tmp))
    onnx.checker.check_model(str(tmp), full_check=False)
    onnx.shape_inference.infer_shapes_path(str(tmp), str(tmp), check_type=True, strict_mode=True)
    _check_io(onnx.load(str(tmp), load_external_data=False), spec)
    tmp.replace(path)
    log.info("exported %s -> %s (%.1f s, %.0f MB)", spec.name, path, time.perf_counter() - start,
             path.stat().st_size / 1e6)  # fmt: skip
    return path


def _check_io(model, spec: GraphSpec) -> None:
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if inputs != list(spec.inputs) or outputs != list(spec.outputs):
        raise RuntimeError(f"{spec.name}: exported I/O {inputs} -> {outputs} differs from the spec")
    gridsample = [n for n in model.graph.node if n.op_type == "GridSample"]
    for node in gridsample:
        log.debug("%s: native GridSample node %s", spec.name, node.name)


def export_all(networks, out_dir: Path, config: ExportConfig = ExportConfig(),
               names: tuple[str, ...] = tuple(GRAPHS)) -> dict[str, Path]:  # fmt: skip
    """Export the named graphs into ``out_dir/<name>.onnx``."""
    out_dir = Path(out_dir)
    return {name: export_graph(GRAPHS[name], networks, out_dir / f"{name}.onnx", config) for name in names}


def hash_file_into(digest, path: Path, chunk: int = 1 << 22) -> None:
    """Feed the bytes of ``path`` to ``digest`` (a hashlib object) in chunks."""
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    hash_file_into(digest, path)
    return digest.hexdigest()
