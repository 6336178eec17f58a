"""Measure the overhead /v1 adds over calling the provider directly (make bench).

Starts a fake OpenAI upstream and the gateway (uvicorn, one worker each) on 127.0.0.1, with key auth
and usage recording on (Redis stream when Redis answers, else the embedded database path), then:
  1. sequential: N requests direct and N through the gateway, p50/p90/p99 and the p50 overhead,
     then N/2 streams each way (time to first byte and to the end);
  2. under load: wrk (if installed) at fixed concurrency for a few seconds, direct vs gateway RPS.
Results are printed and written to bench/results/latest.json.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
N = int(os.environ.get("BENCH_REQUESTS", "2000"))
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def uvicorn_cmd(app: str, port: int) -> list[str]:
    return [
        PY,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.50), 3),
        "p90_ms": round(pick(0.90), 3),
        "p99_ms": round(pick(0.99), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
    }


def sequential(url: str, headers: dict, body: dict) -> dict[str, float]:
    times = []
    with httpx.Client(headers=headers, timeout=10) as client:
        for _ in range(200):
            client.post(url, json=body).raise_for_status()
        for _ in range(N):
            t = time.perf_counter()
            r = client.post(url, json=body)
            times.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
    return percentiles(times)


def sequential_stream(url: str, headers: dict, body: dict) -> dict[str, dict[str, float]]:
    """Time to first byte and to the end of an SSE stream."""
    first, whole = [], []
    body = {**body, "stream": True}
    with httpx.Client(headers=headers, timeout=10) as client:
        for i in range(200 + N // 2):
            t = time.perf_counter()
            with client.stream("POST", url, json=body) as r:
                r.raise_for_status()
                it = r.iter_raw()
                next(it)
                t_first = time.perf_counter()
                for _ in it:
                    pass
            if i >= 200:
                first.append((t_first - t) * 1000)
                whole.append((time.perf_counter() - t) * 1000)
    return {"first_byte": percentiles(first), "complete": percentiles(whole)}


def wrk(url: str, headers: dict, body: dict) -> dict | None:
    if not shutil.which("wrk"):
        return None
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write('wrk.method = "POST"\nwrk.body = [[' + json.dumps(body) + "]]\n")
    for k, v in {**headers, "Content-Type": "application/json"}.items():
        script.write(f'wrk.headers["{k}"] = "{v}"\n')
    script.close()
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(CONCURRENCY), "-d", f"{LOAD_SECONDS}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    non2xx = next((int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line), 0)
    p50 = next((line.split()[1] for line in out.splitlines() if line.strip().startswith("50%")), "?")
    return {"rps": rps, "p50": p50, "non_2xx": non2xx}


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process now and at its peak, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mib": fields.get("VmRSS", 0.0), "peak_rss_mib": fields.get("VmHWM", 0.0)}


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="requesty-bench-"))
    up_port, gw_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "requesty.settings",
        "REQUESTY_EMBEDDED": "true",
        "SECRET_KEY": "bench",
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{work}/bench.sqlite3",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{up_port}/v1",
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "",
    }
    env["REDIS_URL"] = "redis://127.0.0.1:6379/14" if redis_available() else ""
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = (
        "from routing.services import catalog_sync; catalog_sync(only={'openai/gpt-4o-mini'});"
        "from orgs.models import User; from orgs.services import org_create, api_key_create;"
        "u=User.objects.create_user('bench@example.com'); o=org_create(name='Bench', owner=u);"
        "print(api_key_create(org=o, actor=u, user=u, name='bench')[1])"
    )
    key = (
        subprocess.run(
            [PY, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    procs = [
        subprocess.Popen(uvicorn_cmd("bench.upstream:app", up_port), cwd=ROOT, env=env),
        subprocess.Popen(uvicorn_cmd("requesty.asgi:application", gw_port), cwd=ROOT, env=env),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{up_port}/")
        wait_ready(f"http://127.0.0.1:{gw_port}/healthz")
        direct_url = f"http://127.0.0.1:{up_port}/v1/chat/completions"
        gw_url = f"http://127.0.0.1:{gw_port}/v1/chat/completions"
        headers = {"Authorization": f"Bearer {key}"}
        body_direct = {**BODY, "model": "gpt-4o-mini"}
        results = {"requests": N, "usage_sink": "redis stream" if env["REDIS_URL"] else "database (embedded)"}
        results["direct"] = sequential(direct_url, {"Authorization": "Bearer sk-bench"}, body_direct)
        results["gateway"] = sequential(gw_url, headers, BODY)
        results["overhead_p50_ms"] = round(results["gateway"]["p50_ms"] - results["direct"]["p50_ms"], 3)
        results["overhead_p99_ms"] = round(results["gateway"]["p99_ms"] - results["direct"]["p99_ms"], 3)
        stream_direct = sequential_stream(direct_url, {"Authorization": "Bearer sk-bench"}, body_direct)
        stream_gw = sequential_stream(gw_url, headers, BODY)
        results["stream"] = {
            "direct": stream_direct,
            "gateway": stream_gw,
            "overhead_first_byte_p50_ms": round(
                stream_gw["first_byte"]["p50_ms"] - stream_direct["first_byte"]["p50_ms"], 3
            ),
            "overhead_complete_p50_ms": round(stream_gw["complete"]["p50_ms"] - stream_direct["complete"]["p50_ms"], 3),
        }
        load_direct = wrk(direct_url, {"Authorization": "Bearer sk-bench"}, body_direct)
        load_gw = wrk(gw_url, headers, BODY)
        if load_gw:
            results["load"] = {
                "concurrency": CONCURRENCY,
                "seconds": LOAD_SECONDS,
                "direct": load_direct,
                "gateway": load_gw,
            }
        else:
            results["load"] = "skipped: install wrk (apt-get install wrk) for the load test"
        results["gateway_memory"] = rss_mb(procs[1].pid)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
