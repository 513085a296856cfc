"""Password guessing against a running server: N wrong passwords at once, half HTTP
Basic pings and half sign-in forms (one CSRF token for all, as an attacker reuses it),
while the server's RSS is sampled from /proc. Used by bench/guessing.sh.

    python3 bench/guessing.py HOST:PORT SERVICE_ID SERVER_PID N spread|one
"""
import asyncio
import base64
import collections
import re
import sys
import threading
import time
import urllib.parse


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.02)


async def exchange(host, port, raw):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    await reader.read()  # Connection: close
    writer.close()
    return head.decode("latin-1")


async def login_token(host, port):
    head = await exchange(
        host, port, f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    )
    return re.search(r"hb_login=([^;]+)", head).group(1)


def basic_ping(host, service, user, password, addr):
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return (
        f"POST /api/pings?service={service} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Basic {auth}\r\nX-Forwarded-For: {addr}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()


def sign_in(host, token, user, password, addr):
    body = urllib.parse.urlencode(
        {"csrf": token, "username": user, "password": password, "next": "/"}
    )
    return (
        f"POST /login HTTP/1.1\r\nHost: {host}\r\nCookie: hb_login={token}\r\n"
        f"X-Forwarded-For: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()


async def attack(hostport, service, n, spread):
    host, port = hostport.rsplit(":", 1)
    token = await login_token(host, port)
    requests = []
    for i in range(n):
        # `spread`: every try from its own address (a botnet, or a proxy that forwards
        # everyone's address): the throttle lets each through, the hash pool takes them all.
        addr = f"10.{(i >> 8) & 255}.{i & 255}.1" if spread else "10.99.0.1"
        user = "bench" if i % 2 == 0 else f"user{i}"
        password = f"wrong-{i}"
        if i % 4 < 2:
            requests.append(("api", basic_ping(host, service, user, password, addr)))
        else:
            requests.append(("form", sign_in(host, token, user, password, addr)))

    async def one(kind, raw):
        head = await exchange(host, port, raw)
        return kind, int(head.split(" ", 2)[1])

    started = time.monotonic()
    answers = await asyncio.gather(*(one(k, r) for k, r in requests))
    return time.monotonic() - started, collections.Counter(answers)


def main():
    hostport, service, pid, n, mode = sys.argv[1:6]
    pid, n = int(pid), int(n)
    before = rss_kb(pid)
    sampler = Sampler(pid)
    sampler.start()
    took, counts = asyncio.run(attack(hostport, service, n, mode == "spread"))
    sampler.stop = True
    sampler.join()
    time.sleep(2)
    answers = ", ".join(f"{k} {s}: {c}" for (k, s), c in sorted(counts.items()))
    print(
        f"RESULT mode={mode} requests={n} seconds={took:.1f} [{answers}] "
        f"rss_before_mb={before / 1024:.0f} rss_peak_mb={sampler.peak / 1024:.0f} "
        f"vmhwm_mb={rss_kb(pid, 'VmHWM') / 1024:.0f} rss_after_2s_mb={rss_kb(pid) / 1024:.0f}"
    )


if __name__ == "__main__":
    main()
