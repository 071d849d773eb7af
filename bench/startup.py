#!/usr/bin/env python3
"""Start-up time and memory of the release server in each `[models] loading` mode.

For every mode the server starts on a fresh data directory, several times; the script
records when it listens (/health/live), when it is ready (/health/ready answers 200), its
RSS then, and how long the first search and the first generated token take afterwards
(which is where `lazy` pays for its models). Medians go to stdout and to
bench/results/startup-<date>.json.

Usage: bench/startup.py <server binary> [runs]   (stdlib only)
"""

import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error

from loopback import free_port, request

MODES = ["background", "eager", "lazy"]
TEXT = "Article 1. Everyone has the right to freedom of expression and information."


def wait_for(base, path, started, limit=300):
    while time.monotonic() - started < limit:
        try:
            status, _ = request(base, path, timeout=2)
            if status == 200:
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{path} not 200 within {limit} s")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(call):
    started = time.monotonic()
    status, body = call()
    if status >= 300:
        raise RuntimeError(f"status {status}: {body[:300]!r}")
    return (time.monotonic() - started) * 1000


def one_run(binary, mode):
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            CRAG_STORAGE_URL=f"surrealkv://{data}/db",
            CRAG_SERVER_BIND=f"127.0.0.1:{port}",
            CRAG_CACHE_EMBEDDING_PATH=f"{data}/embeddings.redb",
            CRAG_MODELS_LOADING=mode,
            CRAG_LOG_LEVEL="warn",
        )
        started = time.monotonic()
        server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL)
        try:
            live = wait_for(base, "/health/live", started)
            ready = wait_for(base, "/health/ready", started)
            rss_ready = rss_mib(server.pid)
            request(base, "/v1/collections", {"name": "c", "language": "english"})
            first_search = timed(
                lambda: request(base, "/v1/search", {"query": "freedom", "mode": "dense"})
            )
            ingest = timed(
                lambda: request(base, "/v1/collections/c/documents", {"text": TEXT})
            )
            chat = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
            first_token = timed(lambda: request(base, "/v1/chat/completions", chat))
            return {
                "listening_s": live,
                "ready_s": ready,
                "rss_at_ready_mib": rss_ready,
                "first_search_ms": first_search,
                "first_ingest_ms": ingest,
                "first_token_ms": first_token,
                "rss_after_first_use_mib": rss_mib(server.pid),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    one_run(binary, "eager")  # warms the page cache (models, libtorch) for every mode alike
    results = {}
    for mode in MODES:
        samples = [one_run(binary, mode) for _ in range(runs)]
        results[mode] = {
            key: round(statistics.median(s[key] for s in samples), 3) for key in samples[0]
        }
    header = ["mode"] + list(results[MODES[0]])
    print(" | ".join(header))
    for mode, numbers in results.items():
        print(" | ".join([mode] + [f"{v:.2f}" for v in numbers.values()]))
    out = os.path.join(os.path.dirname(__file__), "results")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"startup-{datetime.date.today().isoformat()}.json")
    with open(path, "w") as f:
        json.dump({"runs": runs, "median": results}, f, indent=2)
    print(f"written {path}")


if __name__ == "__main__":
    main()
