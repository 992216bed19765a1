#!/usr/bin/env python3
"""Cold start: time from spawning `roster serve` to serving the API (`GET /ready` answers 200;
the server listens, and answers 503, from before its start-up work).

Usage: bench/cold_start.py BINARY [RUNS]

Each run uses a new, empty database (so it includes creating the schema, the tenant and its
RSA signing key), then a second start on that database (warm: schema and key exist).
Prints the median and min of each over RUNS runs (default 10).
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(binary, database):
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--database-url", f"sqlite://{database}",
         "--client-id", "bench", "--client-secret", "bench-secret"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    request = b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(request)
                    if conn.recv(12).startswith(b"HTTP/1.1 200"):
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.0005)
            if time.perf_counter() - started > 30:
                raise RuntimeError("server did not answer within 30 s")
    finally:
        proc.terminate()
        proc.wait()


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            database = os.path.join(tmp, "roster.db")
            cold.append(first_answer(binary, database))
            warm.append(first_answer(binary, database))
    for name, samples in (("cold (new database)", cold), ("warm (existing database)", warm)):
        print(f"{name}: median {statistics.median(samples) * 1000:.1f} ms, min {min(samples) * 1000:.1f} ms over {runs} runs")


main()
