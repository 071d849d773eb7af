#!/usr/bin/env python3
"""Ingestion over HTTP, side by side with the Python peer (issue 17 item 3).

One sitting, the same corpus, alternating (peer, ours, ours, peer, ... so drift costs both
alike): each run starts its server on a free port with a fresh data directory, ingests the
whole corpus with the peer's own client (`ingest.py` for the peer, `ingest_crag.py` for
ours, both from the peer's directory) and records documents/s, chunks/s and `uptime`. Then
the encoder alone: a fresh server of ours embeds the chunks our ingestion made (each as it
was embedded: title and path header, then text), sorted by length so batches barely pad,
through `/v1/embeddings`, 16 a request and two requests in flight so it never waits on the
client; the ratio of ingestion chunks/s to that is how much
of the encoder's own throughput ingestion keeps. The peer's `encode_bench.py` gives its
encoder alone too.

Usage: bench/peer_ingest.py <server binary> [--max-docs N] [--rounds R]

The peer's virtual environment is made once under ~/.cache/constitutional-rag/peer-venv
(`pip install -r requirements.lock.txt`); the corpus is built once per `--max-docs` under
~/.cache/constitutional-rag/peer-corpus. The peer's directory is `../shared/peer` from the
repository root unless PEER_DIR says otherwise. Results go to stdout and to
bench/results/peer-ingest-<date>.json. Stdlib only.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error

from loopback import free_port, request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/constitutional-rag")
VENV = os.path.join(CACHE, "peer-venv")
PYTHON = os.path.join(VENV, "bin", "python")
EMBED_BATCH = 16


def peer_dir():
    path = os.environ.get("PEER_DIR", os.path.join(ROOT, "..", "shared", "peer"))
    if not os.path.isfile(os.path.join(path, "server.py")):
        sys.exit(f"no peer in {path}: set PEER_DIR to the peer's directory")
    return os.path.abspath(path)


def ensure_venv(peer):
    """The peer's own venv (its own torch from PyPI), made once."""
    marker = os.path.join(VENV, ".installed")
    if os.path.exists(marker):
        return
    subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    requirements = os.path.join(peer, "requirements.lock.txt")
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "-r", requirements], check=True)
    open(marker, "w").close()


def ensure_corpus(peer, max_docs):
    folder = os.path.join(CACHE, "peer-corpus")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"corpus-{max_docs or 'all'}.jsonl")
    if not os.path.exists(path):
        limit = ["--max-docs", str(max_docs)] if max_docs else []
        subprocess.run([PYTHON, os.path.join(peer, "corpus.py"), "build", "-o", path + ".tmp"] + limit,
                       check=True, cwd=peer)
        os.replace(path + ".tmp", path)
    return path


def call(base, path, body=None, timeout=600):
    status, response = request(base, path, body, timeout)
    if status >= 400:
        raise RuntimeError(f"{path}: HTTP {status}: {response[:200]!r}")
    return json.loads(response or b"null")


def wait_ready(base, path, server, limit=600):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            if request(base, path, timeout=2)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base}{path} not ready within {limit} s")


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Server:
    """A server on a free port with a fresh data directory, stopped on exit."""

    def __init__(self, side, binary, peer, env=None):
        self.side, self.binary, self.peer, self.env = side, binary, peer, env or {}

    def __enter__(self):
        self.data = tempfile.TemporaryDirectory(prefix=f"peer-ingest-{self.side}-")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        if self.side == "peer":
            env = dict(os.environ, PEER_PORT=str(port), PEER_DATA=os.path.join(self.data.name, "chroma"))
            command, ready = [PYTHON, os.path.join(self.peer, "server.py")], "/health"
        else:
            data = self.data.name
            env = dict(os.environ, CRAG_STORAGE_URL=f"surrealkv://{data}/db",
                       CRAG_STORAGE_INDEX_SNAPSHOT=f"{data}/index.snapshot",
                       CRAG_CACHE_EMBEDDING_PATH=f"{data}/embeddings.redb",
                       CRAG_SERVER_BIND=f"127.0.0.1:{port}", CRAG_LOG_LEVEL="warn")
            env.setdefault("CRAG_MODELS_DIR", os.path.join(ROOT, ".cache", "models"))
            command, ready = [self.binary, "serve"], "/health/ready"
        self.process = subprocess.Popen(command, env=dict(env, **self.env), cwd=self.data.name, stdout=subprocess.DEVNULL)
        wait_ready(self.base, ready, self.process)
        return self

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait(timeout=60)
        self.data.cleanup()


def ingest(side, binary, peer, corpus):
    """Ingests `corpus` into a fresh server of `side`; the client's summary plus the load."""
    client = "ingest.py" if side == "peer" else "ingest_crag.py"
    with Server(side, binary, peer) as server:
        before = uptime()
        out = subprocess.run([PYTHON, os.path.join(peer, client), corpus, "--url", server.base],
                             check=True, capture_output=True, text=True, cwd=peer).stdout
        summary = json.loads(out.strip().splitlines()[-1])
        summary.pop("server", None)
        summary["documents_per_s"] = round(summary["documents"] / summary["seconds"], 2)
        summary["uptime_before"], summary["uptime_after"] = before, uptime()
        if side == "ours":
            threads = call(server.base, "/health/ready")["components"]["encoder"]["precision"]["threads"]
            summary["bulk_threads"], texts = threads["bulk"], embedded_texts(server.base)
        else:
            texts = None
        return summary, texts


def embedded_texts(base):
    """Every chunk of every collection as the encoder read it (title, path header, text)."""
    texts = []
    for collection in call(base, "/v1/collections")["collections"]:
        name, page = collection["name"], 1
        while page:
            listing = call(base, f"/v1/collections/{name}/documents?page={page}&page_size=100")
            for document in listing["documents"]:
                chunks = call(base, f"/v1/collections/{name}/documents/{document['id']}/chunks")
                for chunk in chunks["chunks"]:
                    header = ", ".join(part for part in (document["title"], chunk["path"]) if part)
                    texts.append(f"{header}\n{chunk['text']}" if header else chunk["text"])
            page = listing.get("next_page")
    return texts


def encoder_alone(binary, peer, texts, threads):
    """Chunks/s of a fresh server of ours embedding `texts` through `/v1/embeddings` on the
    `threads` its ingestion ran on (an embeddings request is a query, so it would otherwise run
    on the interactive count)."""
    with Server("ours", binary, peer, {"CRAG_INFERENCE_THREADS": str(threads)}) as server:
        texts = sorted(texts, key=len)
        batches = [texts[i:i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
        call(server.base, "/v1/embeddings", {"input": batches[0][:8]})
        before = uptime()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda batch: call(server.base, "/v1/embeddings", {"input": batch}), batches))
        seconds = time.monotonic() - started
        return {"chunks": len(texts), "seconds": round(seconds, 1),
                "chunks_per_s": round(len(texts) / seconds, 1), "uptime_before": before,
                "uptime_after": uptime()}


def peer_encoder_alone(peer, corpus):
    out = subprocess.run([PYTHON, os.path.join(peer, "encode_bench.py"), corpus], check=True,
                         capture_output=True, text=True, cwd=peer).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--max-docs", type=int, default=0, help="corpus size (0: all of it)")
    ap.add_argument("--corpus", help="a corpus JSONL to use instead of building one")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each side")
    ap.add_argument("--sides", default="peer,ours", help="which servers to run (and the encoders alone)")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    peer = peer_dir()
    ensure_venv(peer)
    corpus = os.path.abspath(a.corpus) if a.corpus else ensure_corpus(peer, a.max_docs)
    sides = a.sides.split(",")
    order = []
    for round_ in range(a.rounds):
        order += sides if round_ % 2 == 0 else sides[::-1]
    runs, texts = {side: [] for side in sides}, None
    for side in order:
        summary, chunk_texts = ingest(side, binary, peer, corpus)
        texts = texts or chunk_texts
        runs[side].append(summary)
        print(side, json.dumps(summary), flush=True)
    result = {"corpus": corpus, "binary": binary, "runs": runs}
    best = {side: max(r["documents_per_s"] for r in runs[side]) for side in runs}
    if "ours" in runs:
        threads = runs["ours"][0]["bulk_threads"]
        result["ours_encoder_alone"] = encoder_alone(binary, peer, texts, threads)
        print("ours encoder alone", json.dumps(result["ours_encoder_alone"]), flush=True)
        best_chunks = max(r["chunks_per_s"] for r in runs["ours"])
        result["share_of_encoder_alone"] = round(
            best_chunks / result["ours_encoder_alone"]["chunks_per_s"], 2)
        print(f"ours: {best['ours']} documents/s, keeping {result['share_of_encoder_alone']} "
              "of the encoder's own chunks/s")
    if "peer" in runs:
        result["peer_encoder_alone"] = peer_encoder_alone(peer, corpus)
        print("peer encoder alone", json.dumps(result["peer_encoder_alone"]), flush=True)
    if len(best) == 2:
        result["documents_per_s_ratio"] = round(best["ours"] / best["peer"], 2)
        print(f"documents/s: ours {best['ours']} vs peer {best['peer']} "
              f"({result['documents_per_s_ratio']}x)")
    out = os.path.join(ROOT, "bench", "results")
    os.makedirs(out, exist_ok=True)
    name = f"peer-ingest-{datetime.date.today().isoformat()}.json"
    with open(os.path.join(out, name), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
