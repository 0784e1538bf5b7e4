"""Studio figures: slider -> preview latency in a real browser, and render throughput through the studio
against the CLI.

    python -m bench.studio --json OUT.json [--slides 60] [--frames 150] [--driving VIDEO] [--repeats 2]

1. Latency: a studio is served on a free local port and headless Chromium opens its Edit tab with the
   bundled 512² portrait. Each sample sets one slider the way a drag does (its input event) and times, in
   the page, until the preview shows the new decoded picture: the whole browser path (event, HTTP, engine,
   JPEG, DOM). Sliders cycle through smile, yaw, blink and aaa with values that always change.
2. Throughput: the same render (bundled portrait, ``--frames`` of a driving video) through the CLI's
   ``render`` (a process of its own) and through the studio's Animate API (gradio_client), alternated
   ``--repeats`` times (each pair in turn starting with the other); frames/s are the ones each prints (the render loop), and the wall time of each call
   is recorded too. The studio runs in its own process, as ``livepuppet studio`` does.

The driving video is ``--driving``, else the bundled portrait performing the demo motion for ``--frames``
frames (rendered first; a face video long enough to average out a noisy host). Prints and writes figures; asserts nothing. Shared-host timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SLIDERS = (("smile", 1.0), ("yaw", 45.0), ("blink", 1.0), ("aaa", 1.0))
FPS_PATTERN = re.compile(r"(\d+) frames in [\d.]+ s \(([\d.]+) frames/s\)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _summary(values: list[float]) -> dict:
    data = np.array(values, np.float64)
    return {
        "count": int(data.size),
        "p50": round(float(np.percentile(data, 50)), 1),
        "p95": round(float(np.percentile(data, 95)), 1),
        "mean": round(float(data.mean()), 1),
        "max": round(float(data.max()), 1),
    }


def _cpu_seconds(roots: list[int]) -> float:
    """User + system CPU seconds of the processes ``roots`` and all their descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    chosen = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in chosen and pid not in chosen:
                chosen.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in chosen)


def slider_latency(url: str, portrait: Path, slides: int, server_pid: int) -> dict:
    from realtime.studio.browser import Browser

    with Browser() as browser:
        browser.open(url)
        browser.tab("Edit")
        browser.upload("edit-portrait", portrait)
        browser.wait(lambda: browser.image_src("edit-preview"), 120, "the first preview")
        samples: list[float] = []
        failed = 0
        browser_root = browser.driver.service.process.pid
        cpu = {}
        for i in range(slides + 5):  # the first 5 warm up
            if i == 5:
                cpu = {"server": _cpu_seconds([server_pid]), "browser": _cpu_seconds([browser_root])}
            name, high = SLIDERS[i % len(SLIDERS)]
            value = round(high * (0.2 + 0.8 * ((i * 7919) % 97) / 97.0) * (1 if i % 2 else 0.5), 2)
            ms = browser.slide(f"edit-{name}", value, "edit-preview")
            if i >= 5:
                if ms < 0:
                    failed += 1
                else:
                    samples.append(ms)
        # CPU each update costs, whatever the other load: what latency would approach on an idle machine.
        cpu_ms = {
            "server": round((_cpu_seconds([server_pid]) - cpu["server"]) * 1000 / slides, 1),
            "browser": round((_cpu_seconds([browser_root]) - cpu["browser"]) * 1000 / slides, 1),
        }
    return {**_summary(samples), "no_update": failed, "cpu_ms_per_update": cpu_ms}


def _cli_render(portrait: Path, driving: Path, out: Path, frames: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    printed = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "render", "--source", str(portrait), "--driving", str(driving),
         "--out", str(out), "--max-frames", str(frames), "--no-progress"],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout  # fmt: skip
    wall = time.perf_counter() - started
    count, fps = FPS_PATTERN.search(printed).groups()
    return float(fps), wall, int(count)


def _studio_render(
    client, handle_file, portrait: Path, driving: Path, frames: int
) -> tuple[float, float, int]:
    started = time.perf_counter()
    _, status = client.predict(handle_file(str(portrait)), handle_file(str(driving)), "warp", None, 0, 0, None,
                               frames, "off", api_name="/animate")  # fmt: skip
    wall = time.perf_counter() - started
    found = FPS_PATTERN.search(status)
    if found is None:
        raise RuntimeError(f"the studio render failed: {status}")
    count, fps = found.groups()
    return float(fps), wall, int(count)


def throughput(url: str, portrait: Path, driving: Path, frames: int, repeats: int, scratch: Path) -> dict:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    runs: dict[str, list[tuple[float, float, int]]] = {"cli": [], "studio": []}
    for i in range(repeats):  # alternate which goes first: the shared host's load drifts
        order = ("cli", "studio") if i % 2 == 0 else ("studio", "cli")
        for name in order:
            if name == "cli":
                runs["cli"].append(_cli_render(portrait, driving, scratch / f"cli{i}.mp4", frames))
            else:
                runs["studio"].append(_studio_render(client, handle_file, portrait, driving, frames))
    report = {}
    for name, results in runs.items():
        fps = [r[0] for r in results]
        report[name] = {
            "frames": results[0][2],
            "fps_runs": fps,
            "fps_median": round(float(np.median(fps)), 2),
            "wall_seconds_runs": [round(r[1], 2) for r in results],
        }
    report["studio_vs_cli"] = round(report["studio"]["fps_median"] / report["cli"]["fps_median"], 3)
    pairs = [s[0] / c[0] for s, c in zip(runs["studio"], runs["cli"])]
    report["studio_vs_cli_per_pair_median"] = round(float(np.median(pairs)), 3)
    return report


def _wait_until_served(url: str, server: subprocess.Popen, seconds: float = 180.0) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the studio exited before serving")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the studio did not answer at {url} within {seconds:g} s")


def _driving(args, scratch: Path) -> Path:
    if args.driving:
        return args.driving
    clip = scratch / "demo_driving.mp4"
    subprocess.run([sys.executable, "-m", "realtime.cli", "demo", "--out", str(clip),
                    "--seconds", str(max(args.frames / 25.0, 1.0))], capture_output=True, check=True, cwd=REPO)  # fmt: skip
    return clip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.studio", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--slides", type=int, default=60, help="slider changes timed (default: 60)")
    parser.add_argument("--frames", type=int, default=150, help="frames per render (default: 150)")
    parser.add_argument("--repeats", type=int, default=2, help="CLI/studio render pairs (default: 2)")
    parser.add_argument("--driving", type=Path, help="driving video for the throughput runs")
    args = parser.parse_args(argv)

    from realtime.studio.browser import missing

    with tempfile.TemporaryDirectory(prefix="bench-studio-") as folder:
        scratch = Path(folder)
        port = _free_port()
        # The studio in its own process, as `livepuppet studio` runs it (the browser and the API client here).
        server = subprocess.Popen(
            [sys.executable, "-m", "realtime.cli", "studio", "--no-browser", "--port", str(port),
             "--workdir", str(scratch / "work")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_until_served(url, server)
            portrait = scratch / "work" / "examples" / "astronaut.png"  # written by the studio at start
            reason = missing()
            latency = (
                {"skipped": reason} if reason else slider_latency(url, portrait, args.slides, server.pid)
            )
            print(f"slider -> preview (browser, 512x512): {latency}")
            driving = _driving(args, scratch)
            render = throughput(url, portrait, driving, args.frames, args.repeats, scratch)
            print(f"render frames/s: CLI {render['cli']['fps_runs']}, studio {render['studio']['fps_runs']} "
                  f"(studio/CLI {render['studio_vs_cli']})")  # fmt: skip
        finally:
            server.terminate()
            server.wait(30)
    report = {
        "slider_preview_ms": latency,
        "render": {**render, "driving": driving.name},
        "cpu": _cpu(),
        "load_average": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"report: {args.json}")


if __name__ == "__main__":
    main()
