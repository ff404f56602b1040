#!/usr/bin/env python3
"""Page latency of the web interface against a running `manyi serve` (loopback only).

Logs in as the given users through the API (one session each), then requests each page
sequentially over one keep-alive connection: WARMUP requests first (not counted), then N
timed requests. A bare `GET /healthz` is measured the same way in the same run, as the
baseline of the machine and the HTTP stack. Prints one JSON object per run and a summary
table of p50/p99 per page (medians over the runs, with min–max).

    scripts/page_bench.py --base http://127.0.0.1:8099 --runs 3 --n 60 \
        --page healthz=-:/healthz --page workspace=bjhd01.teller:/ ...

Each --page is NAME=LOGIN:PATH (LOGIN "-" for no session). The password is the demo one.
"""

import argparse
import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlparse

PASSWORD = "manyi-demo"


def login(host, port, user):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    body = json.dumps({"login": user, "password": PASSWORD})
    conn.request("POST", "/api/v1/auth/login", body, {"content-type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit(f"login {user}: {resp.status}")
    cookie = resp.getheader("set-cookie").split(";")[0]
    conn.close()
    return cookie


def measure(host, port, path, cookie, warmup, n):
    conn = http.client.HTTPConnection(host, port, timeout=120)
    headers = {"cookie": cookie} if cookie else {}
    times = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        elapsed = (time.perf_counter() - t0) * 1000.0
        if resp.status != 200:
            sys.exit(f"{path}: HTTP {resp.status}")
        if i >= warmup:
            times.append(elapsed)
    conn.close()
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]
    return {"p50": p(0.50), "p99": p(0.99), "max": times[-1]}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--page", action="append", required=True)
    args = ap.parse_args()
    u = urlparse(args.base)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    pages = []
    cookies = {}
    for spec in args.page:
        name, rest = spec.split("=", 1)
        user, path = rest.split(":", 1)
        if user != "-" and user not in cookies:
            cookies[user] = login(u.hostname, u.port, user)
        pages.append((name, cookies.get(user), path))
    results = {name: [] for name, _, _ in pages}
    # The machine may be shared: say how loaded it was, before and after.
    print(json.dumps({"loadavg_before": loadavg()}), flush=True)
    for run in range(args.runs):
        for name, cookie, path in pages:
            r = measure(u.hostname, u.port, path, cookie, args.warmup, args.n)
            results[name].append(r)
            print(json.dumps({"run": run + 1, "page": name, "path": path, **r}), flush=True)
    print(json.dumps({"loadavg_after": loadavg()}), flush=True)
    print()
    print("| page | p50 ms (median, min–max) | p99 ms (median, min–max) |")
    print("|---|---|---|")
    for name, _, path in pages:
        rs = results[name]
        p50 = [r["p50"] for r in rs]
        p99 = [r["p99"] for r in rs]
        print(
            f"| {name} `{path}` | {statistics.median(p50):.1f} ({min(p50):.1f}–{max(p50):.1f}) "
            f"| {statistics.median(p99):.1f} ({min(p99):.1f}–{max(p99):.1f}) |"
        )


if __name__ == "__main__":
    main()
