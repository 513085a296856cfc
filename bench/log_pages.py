#!/usr/bin/env python3
"""Pages a batch of pings writes to SQLite's log, on the schema `heartbeats migrate` makes.

    bench/log_pages.py <heartbeats binary> [pings on record] [--service-index]

Makes a database with 1,000 interval services and the given number of pings (300,000 by
default), spread at random and chained per service as the server chains them, then
commits 30 batches as the ping writer does for 64 success pings to 64 services: the
pings inserted, each linked to its service's last; the services' tracking columns and
chain head updated. A passive checkpoint after each batch copies the whole log, so the
next batch starts it over and the log's frame count is that batch's pages. With
`--service-index` the index by `(service_id, id)` that the chain replaced is there too
(from the start, so that its pages fill as a live server's do), to see what it cost.
"""
import os
import random
import sqlite3
import subprocess
import sys
import tempfile

SERVICES = 1000
BATCH = 64
BATCHES = 30


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.exit(__doc__)
    binary = args[0]
    on_record = int(args[1]) if len(args) > 1 else 300_000
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "heartbeats.db")
        env = dict(os.environ, DATABASE_URL=f"sqlite://{path}", RUST_LOG="warn")
        subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if "--service-index" in sys.argv:
            # Before the pings, so that its pages fill as a live server's do.
            db.execute("CREATE INDEX idx_pings_service_id ON pings (service_id, id)")
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO services (id, name, name_key, kind, period_secs, timezone, "
            "grace_secs, tags, notify, status, version, created_at, updated_at, channels, "
            "remind_max, ping_uuid, slug) VALUES (?, ?, ?, 'interval', 3600, 'UTC', 300, "
            "'bench', 'ops@example.com', 'up', 1, 1, 1, '', 0, ?, ?)",
            [
                (f"s{i:07}", f"bench-{i:04}", f"bench-{i:04}",
                 f"00000000-0000-4000-8000-{i:012}", f"bench-{i:04}")
                for i in range(SERVICES)
            ],
        )
        ids = [f"s{i:07}" for i in range(SERVICES)]
        last = {}
        t0 = 1_764_600_000_000
        for n in range(1, on_record + 1):
            s = random.choice(ids)
            db.execute(
                "INSERT INTO pings (id, service_id, at, kind, data, source, user_agent, "
                "prev_id) VALUES (?, ?, ?, 'success', '', '127.0.0.1', 'wrk', ?)",
                (n, s, t0 + n, last.get(s)),
            )
            last[s] = n
        db.executemany(
            "UPDATE services SET last_ping_id = ?, ping_count = 1 WHERE id = ?",
            [(v, k) for k, v in last.items()],
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        next_id = on_record + 1
        frames = 0
        for b in range(BATCHES):
            now = t0 + on_record + 100 * b
            batch = random.sample(ids, BATCH)
            db.execute("BEGIN IMMEDIATE")
            for s in batch:
                db.execute(
                    "INSERT INTO pings (id, service_id, at, kind, data, source, "
                    "user_agent, prev_id) VALUES (?, ?, ?, 'success', '', '127.0.0.1', "
                    "'wrk', ?)",
                    (next_id, s, now, last.get(s)),
                )
                last[s] = next_id
                next_id += 1
            db.executemany(
                "UPDATE services SET last_ping_at = ?, last_ping_kind = 'success', "
                "next_due_at = ?, next_check_at = ?, version = version + 1, "
                "updated_at = ?, last_ping_id = ?, ping_count = ping_count + 1 "
                "WHERE id = ?",
                [(now, now + 3_600_000, now + 3_900_000, now, last[s], s) for s in batch],
            )
            db.execute("COMMIT")
            log, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1:]
            frames += log
        index = "with" if "--service-index" in sys.argv else "without"
        print(
            f"{on_record} pings on record, {index} the service index: "
            f"{frames / BATCHES:.1f} pages written to the log per batch of {BATCH}"
        )


if __name__ == "__main__":
    main()
