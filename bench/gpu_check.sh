#!/usr/bin/env bash
# GPU check of the export/runtime layer: installs what is missing from wheels, then runs the GPU tests and
# the runtime benchmark on synthetic weights.
#
#   bash bench/gpu_check.sh [OUT_DIR]        (default OUT_DIR: ./gpu_check_out, or $OUT when set)
#
# Python: uses `python3` as it is when it already has a CUDA torch (e.g. a CUDA image). Otherwise it makes
# .venv-gpu and installs torch==2.13.0 (CUDA build), onnx, onnxscript from PyPI, which needs internet.
# Optional pieces, each used only where it installs: onnxruntime-gpu (replaces onnxruntime: never both in
# one environment) and tensorrt (NVIDIA's wheels; `pip install tensorrt` fetches them from NVIDIA's index).
# Offline, put wheels in ./.whl (pip download ... -d .whl on a machine with internet): they are installed
# with --no-index into a side folder. Nothing here downloads model weights.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$OUT_DIR"
PY=python3
log() { echo "[gpu_check] $*"; }

have_cuda_torch() { "$1" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }
online() { "$PY" - <<'EOF' 2>/dev/null
import urllib.request, sys
try:
    urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=5)
except Exception:
    sys.exit(1)
EOF
}

if ! have_cuda_torch "$PY"; then
  if online; then
    log "no CUDA torch in python3: creating .venv-gpu from PyPI"
    python3 -m venv .venv-gpu && PY=.venv-gpu/bin/python
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "torch==2.13.0" "onnx==1.22.0" onnxscript numpy scipy safetensors pytest opencv-python-headless
  else
    log "no CUDA torch and no internet: install torch with CUDA first (see README, GPU section)"; exit 2
  fi
fi
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  log "installing carried wheels from .whl into /tmp/gpu_check_site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu_check_site .whl/*.whl \
    && export PYTHONPATH="/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}"
elif online; then
  # Into a side folder put first on PYTHONPATH: its onnxruntime-gpu shadows a CPU onnxruntime without
  # touching the environment (the two must never be installed into the same folder).
  "$PY" -m pip install -q --target /tmp/gpu_check_site onnxruntime-gpu || log "onnxruntime-gpu did not install"
  "$PY" -m pip install -q --target /tmp/gpu_check_site tensorrt || log "tensorrt did not install (needs NVIDIA's index)"
  export PYTHONPATH="/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}"
fi

"$PY" - <<'EOF' | tee "$OUT_DIR/environment.txt"
import importlib, platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda)
print("gpu", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))
for name in ("onnx", "onnxruntime", "tensorrt"):
    try:
        module = importlib.import_module(name)
        extra = module.get_available_providers() if name == "onnxruntime" else ""
        print(name, module.__version__, extra)
    except ImportError as exc:
        print(name, "missing:", exc)
flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
print("cpu bf16 units:", sorted({"avx512_bf16", "amx_bf16"} & set(flags.split())))
EOF

WEIGHTS="$(mktemp -d)/weights"
log "writing synthetic weights to $WEIGHTS"
"$PY" -c "from engines.liveportrait.synthetic import write_synthetic_checkpoints as w; w('$WEIGHTS', verify=False)" || exit 3

status=0
log "GPU tests"
"$PY" -m pytest -q -rs -m gpu -p no:cacheprovider tests/export 2>&1 | tee "$OUT_DIR/gpu_tests.txt" || status=1
log "runtime benchmark"
PYTHONUNBUFFERED=1 "$PY" -m bench.runtimes --weights "$WEIGHTS" --json "$OUT_DIR/runtimes_gpu.json" \
  --repeats "${REPEATS:-5}" --cache "$(mktemp -d)" ${BENCH_ARGS:-} 2>&1 | tee "$OUT_DIR/runtimes_gpu.txt" || status=1
exit $status
