"""Requests for bench/scale.sh: signs in like a browser, times each case and prints
p50/p95/max and the response size; then 50 dashboards refreshing every 5 s while pings
arrive, with the server's CPU use over that time.

    python3 bench/scale_measure.py <base-url> <user> <password> <ids-file> <n> /proc/<pid>
"""
import base64
import http.client
import os
import random
import sys
import threading
import time
import urllib.parse

base, user, password, ids_file, n, proc = sys.argv[1:7]
n = int(n)
host = urllib.parse.urlparse(base).netloc
ids = [line.strip() for line in open(ids_file) if line.strip()]
basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(conn, method, path, headers=None, body=None):
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        # The server closed an idle keep-alive connection: open a new one.
        conn.close()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
    data = r.read()
    return r, data


def sign_in():
    conn = http.client.HTTPConnection(host)
    r, _ = request(conn, "GET", "/login")
    login = next(c for c in r.headers.get_all("set-cookie") if c.startswith("hb_login="))
    login = login.split(";")[0]
    form = urllib.parse.urlencode(
        {"csrf": login.split("=", 1)[1], "username": user, "password": password, "next": "/"}
    )
    r, _ = request(
        conn,
        "POST",
        "/login",
        {"Cookie": login, "Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    session = next(c for c in r.headers.get_all("set-cookie") if c.startswith("hb_session="))
    return session.split(";")[0]


session = sign_in()
conn = http.client.HTTPConnection(host)
ping_conn = http.client.HTTPConnection(host)


def ping():
    sid = random.choice(ids)
    t = time.perf_counter()
    r, _ = request(ping_conn, "POST", f"/api/pings?service={sid}", {"Authorization": basic})
    assert r.status == 200, r.status
    return time.perf_counter() - t


def pct(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, round((len(s) - 1) * q))] * 1000


def report(name, samples, size=None, extra=""):
    size_text = f"{size / 1024:7.1f} KB" if size is not None else " " * 10
    print(
        f"{name:<52} p50 {pct(samples, .5):7.1f} ms  p95 {pct(samples, .95):7.1f} ms  "
        f"max {pct(samples, 1):7.1f} ms  {size_text}{extra}"
    )


def case(name, paths, after_ping=True, headers=None, expect=200):
    samples, size, timing = [], 0, ""
    for i in range(n):
        if after_ping:
            ping()
        path = paths(i) if callable(paths) else paths
        h = {"Cookie": session}
        h.update(headers or {})
        t = time.perf_counter()
        r, body = request(conn, "GET", path, h)
        samples.append(time.perf_counter() - t)
        assert r.status == expect, (path, r.status, body[:300])
        size = max(size, len(body))
        timing = r.getheader("server-timing") or ""
    report(name, samples, size)
    return timing


case("GET /  first page, after a ping", "/")
case("GET /  first page, unchanged (cached render)", "/", after_ping=False)
case("GET /?q=gpu  tag search (tag index), after a ping", "/?q=gpu")
case("GET /?q=backup  tag that is also in names, after a ping", "/?q=backup")
case("GET /?q=db,shanghai  two tags, after a ping", "/?q=db,shanghai")
case("GET /?status=down  status filter, after a ping", "/?status=down")
case("GET /?q=gpu&status=late  tag + status, after a ping", "/?q=gpu&status=late")
case("GET /?q=payroll-reindex  name part (~0.5%), after a ping", "/?q=payroll-reindex")
case(
    "GET /?q=0012345  rare name part, new each time (scan)",
    lambda i: f"/?q={random.randrange(10**6):07d}",
    after_ping=False,
)
case("GET /?q=0012345  rare name part, repeated", "/?q=0012345")

# Page 50 of the first page's order: follow next links.
conn.request("GET", "/", headers={"Cookie": session})
body = conn.getresponse().read().decode()
samples = []
for _ in range(min(n, 50)):
    start = body.find('rel="next" href="')
    if start < 0:
        break
    start += len('rel="next" href="')
    href = body[start : body.find('"', start)].replace("&#38;", "&")
    t = time.perf_counter()
    r, data = request(conn, "GET", href, {"Cookie": session})
    samples.append(time.perf_counter() - t)
    body = data.decode()
report("GET /?after=…  following next links (pages 2–51)", samples, len(data))

r, body = request(conn, "GET", "/ui/rows", {"Cookie": session})
etag = r.getheader("etag")
case("GET /ui/rows  live refresh, unchanged (304)", "/ui/rows", False, {"If-None-Match": etag}, 304)

api = {"Authorization": basic}
case("GET /api/v1/services?limit=100", "/api/v1/services?limit=100", False, api)
case("GET /api/v1/services?limit=1000", "/api/v1/services?limit=1000", False, api)
case("GET /api/v1/services?tag=gpu&limit=100", "/api/v1/services?tag=gpu&limit=100", False, api)
r, _ = request(conn, "GET", "/api/v1/services?limit=100", api)
cursor = r.getheader("x-next-cursor")
case("GET /api/v1/services?cursor=…  second page", f"/api/v1/services?limit=100&cursor={cursor}", False, api)

report("POST /api/pings  one ping (Basic auth)", [ping() for _ in range(max(n, 50))])


# 50 dashboards, each refreshing every 5 s with If-None-Match, while 20 pings a second land.
def ticks():
    with open(f"{proc}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


stop = time.time() + 30
latencies = []
lock = threading.Lock()


def dashboard(k):
    c = http.client.HTTPConnection(host)
    tag = None
    time.sleep(k * 0.1)
    while time.time() < stop:
        h = {"Cookie": session}
        if tag:
            h["If-None-Match"] = tag
        t = time.perf_counter()
        r, _ = request(c, "GET", "/ui/rows", h)
        with lock:
            latencies.append(time.perf_counter() - t)
        tag = r.getheader("etag") or tag
        time.sleep(5)


def pinger():
    c = http.client.HTTPConnection(host)
    while time.time() < stop:
        request(c, "POST", f"/api/pings?service={random.choice(ids)}", {"Authorization": basic})
        time.sleep(0.05)


before = ticks()
threads = [threading.Thread(target=dashboard, args=(k,)) for k in range(50)]
threads.append(threading.Thread(target=pinger))
for t in threads:
    t.start()
for t in threads:
    t.join()
used = (ticks() - before) / os.sysconf("SC_CLK_TCK")
report(
    "50 dashboards refreshing every 5 s, 20 pings/s, 30 s",
    latencies,
    extra=f"  server CPU {100 * used / 30:.1f}% of one core",
)
