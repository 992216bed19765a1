#!/usr/bin/env python3
"""Tenants benchmark (issue 13): how long creating a tenant and resetting one take, and what 100
tenants in one process cost in memory.

Starts `roster serve --admin-key` (release build) on a fresh directory and a fresh SQLite database,
or on the empty PostgreSQL database DATABASE_URL names (hosted tenants are then schemas of it),
then through the admin API:
  1. creates CREATES tenants one after another (empty, no tenant file, no name: those are made
     ahead), then NAMED more each with a name given (made when asked): each request's latency;
  2. creates a tenant from a tenant file of 1,000 users (bcrypt hashes given, so nothing is
     hashed), takes a snapshot, and resets it to that snapshot RESETS times, each after a write
     (one user created), checking the user count is back to 1,000: each reset's latency;
  3. creates tenants up to 100 in all, calls each (a token and a user listing, so each has opened
     its store and keys), and reads the server's resident memory (VmRSS, RssAnon, RssFile).
Latencies are measured by the client (urllib on the same machine), in milliseconds.

usage: bench/tenants.py [ROSTER_BIN [DATABASE_URL]]   (default target/release/roster; build it
       first: cargo build --release --bin roster). On PostgreSQL, for example:
       source scripts/pg_temp.sh; PG_TEMP_DURABLE=1 pg_temp_start
       python3 bench/tenants.py target/release/roster "$(pg_temp_createdb tenants_bench)"
"""
import json, os, statistics, subprocess, sys, tempfile, time, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/roster"
DATABASE_URL = sys.argv[2] if len(sys.argv) > 2 else None
KEY = "bench-admin-key"
CREATES, NAMED, RESETS, TENANTS = 30, 10, 30, 100
HASH = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


def call(base, method, path, body=None, token=KEY):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("content-type", "application/json")
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        payload = response.read()
    return (time.perf_counter() - started) * 1000, json.loads(payload) if payload else None


def summary(name, ms):
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms p95={p95:.1f} ms max={ms[-1]:.1f} ms")


def token(base, tenant):
    body = {"grant_type": "client_credentials", "client_id": tenant["client_id"],
            "client_secret": tenant["client_secret"], "audience": f"https://{tenant['domain']}/api/v2/"}
    _, answer = call(base, "POST", f"/t/{tenant['name']}/oauth/token", body, token="")
    return answer["access_token"]


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) // 1024
    return fields


def main():
    work = tempfile.mkdtemp(prefix="roster-tenants-bench-")
    database = DATABASE_URL or f"sqlite://{work}/roster.db"
    print(f"hosted tenants on {'PostgreSQL' if DATABASE_URL else 'SQLite'}")
    server = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--database-url", database, "--tenants-dir", f"{work}/tenants",
         "--admin-key", KEY, "--log-retention-days", "0"],
        stdout=subprocess.PIPE, stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "w"), text=True)
    try:
        base = server.stdout.readline().split()[3]
        # Let the spare signing keys (and schemas) be made, as they would be between a CI job's
        # tenants.
        time.sleep(2)
        created, tenants = [], []
        for _ in range(CREATES):
            ms, tenant = call(base, "POST", "/roster/v1/tenants", {})
            created.append(ms)
            tenants.append(tenant)
            time.sleep(0.3)
        summary("create (empty)", created)
        named = []
        for i in range(NAMED):
            ms, tenant = call(base, "POST", "/roster/v1/tenants", {"name": f"named-{i}"})
            named.append(ms)
            tenants.append(tenant)
            time.sleep(0.3)
        summary("create (empty, named)", named)

        users = "users:\n" + "".join(
            f"  - email: user{i}@bench.test\n    password_hash: \"{HASH}\"\n" for i in range(1000))
        ms, seeded = call(base, "POST", "/roster/v1/tenants", {"name": "seeded", "tenant_file": users})
        print(f"create from a tenant file of 1,000 users: {ms:.1f} ms")
        access = token(base, seeded)
        call(base, "POST", "/roster/v1/tenants/seeded/snapshots", {"name": "thousand"})
        resets = []
        for i in range(RESETS):
            call(base, "POST", "/t/seeded/api/v2/users",
                 {"connection": "Username-Password-Authentication", "email": f"extra{i}@bench.test",
                  "password": "Passw0rd!"}, token=access)
            ms, _ = call(base, "POST", "/roster/v1/tenants/seeded/reset", {"snapshot": "thousand"})
            resets.append(ms)
            _, page = call(base, "GET", "/t/seeded/api/v2/users?per_page=1&include_totals=true", token=access)
            assert page["total"] == 1000, page["total"]
        summary("reset (1,000 users)", resets)

        while len(tenants) + 1 < TENANTS:
            tenants.append(call(base, "POST", "/roster/v1/tenants", {})[1])
        _, listed = call(base, "GET", "/roster/v1/tenants")
        print(f"tenants: {len(listed)}; memory before they are used (MiB): {memory(server.pid)}")
        for tenant in tenants:
            access = token(base, tenant)
            call(base, "POST", f"/t/{tenant['name']}/api/v2/users",
                 {"connection": "Username-Password-Authentication", "email": "one@bench.test",
                  "password": "Passw0rd!"}, token=access)
            call(base, "GET", f"/t/{tenant['name']}/api/v2/users?q=email:one*&search_engine=v3", token=access)
        print(f"memory with {len(listed)} tenants, each used (MiB): {memory(server.pid)}")
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
