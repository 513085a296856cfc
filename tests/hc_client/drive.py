#!/usr/bin/env python3
"""Drive Heartbeats' healthchecks management API with the PyPI client `healthchecks-io`.

Usage: drive.py <base_url> <api_key> <read_key> <pinged_check_name>

The server has one service named <pinged_check_name> (tags "nightly db", every hour)
that received, oldest first: a success, a start and a success with the same run id 90 s
apart, a failure, and a success. The script creates, lists, upserts, gets, updates, pauses, resumes, lists pings
and flips, deletes, and leaves one check behind ("hc-client-kept", tags "kept v3"), which
the Rust test then looks at. It exits 1 at the first answer that is not as expected.
"""
import sys
import traceback

from healthchecks_io import Client, CheckCreate, CheckUpdate
from healthchecks_io.client.exceptions import (
    BadAPIRequestError,
    CheckNotFoundError,
    HCAPIAuthError,
)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def raises(exc, fn, what):
    try:
        fn()
    except exc:
        return
    raise AssertionError(f"{what}: expected {exc.__name__}")


def main():
    base, key, read_key, pinged = sys.argv[1:5]
    api = base.rstrip("/") + "/api/"
    # The library's default API version is 1; v3 is healthchecks' current one.
    v1 = Client(api_key=key, api_url=api, ping_url=base + "/ping/")
    v3 = Client(api_key=key, api_url=api, api_version=3)
    ro = Client(api_key=read_key, api_url=api, api_version=3)

    # List: the service made through our own API shows as a check.
    checks = v1.get_checks()
    by_name = {c.name: c for c in checks}
    expect(pinged in by_name, f"{pinged} listed")
    pc = by_name[pinged]
    expect_eq(pc.tags, "nightly db", "tags")
    expect_eq(pc.status, "up", "status after the last success")
    expect_eq(pc.n_pings, 5, "n_pings")
    expect_eq(pc.timeout, 3600, "timeout")
    expect(pc.uuid and pc.ping_url.endswith("/ping/" + pc.uuid), "ping_url")
    expect_eq([c.name for c in v1.get_checks(tags=["db"])], [pinged], "tag filter")
    expect_eq(v1.get_checks(tags=["db", "nightly"])[0].name, pinged, "two tags")
    expect_eq(v1.get_checks(tags=["db", "nope"]), [], "tags all must match")

    # Create, then upsert on the name: the same check comes back, changed.
    made = v1.create_check(
        CheckCreate(
            name="hc-client-job",
            tags="prod www",
            desc="made by healthchecks-io",
            timeout=3600,
            grace=120,
        )
    )
    expect_eq(made.status, "new", "new check status")
    expect_eq((made.timeout, made.grace), (3600, 120), "timeout and grace")
    expect_eq(made.tags, "prod www", "tags")
    expect_eq(made.desc, "made by healthchecks-io", "desc")
    expect_eq(made.channels, "", "no channels unless asked")
    expect(made.uuid, "uuid")
    again = v1.create_check(
        CheckCreate(name="hc-client-job", tags="prod www", timeout=7200, grace=120, unique=["name"])
    )
    expect_eq(again.uuid, made.uuid, "upsert matched the check")
    expect_eq(again.timeout, 7200, "upsert updated the timeout")
    expect_eq(len([c for c in v1.get_checks() if c.name == "hc-client-job"]), 1, "one check")

    got = v1.get_check(made.uuid)
    expect_eq((got.name, got.timeout, got.slug), ("hc-client-job", 7200, "hc-client-job"), "get")

    # Update to a cron schedule; v1 derives the slug from the new name.
    upd = v1.update_check(
        made.uuid, CheckUpdate(name="hc-client-job-2", schedule="30 4 * * *", tz="Europe/Riga")
    )
    expect_eq(upd.name, "hc-client-job-2", "renamed")
    expect_eq(upd.slug, "hc-client-job-2", "v1 slug follows the name")
    expect_eq(upd.timeout, None, "a cron check has no timeout")
    raw = v1._client.get(v1._get_api_request_url(f"checks/{made.uuid}")).json()
    expect_eq((raw["schedule"], raw["tz"]), ("30 4 * * *", "Europe/Riga"), "schedule and tz")

    # Pause, resume (the library has no resume call: its own HTTP client does it).
    expect_eq(v1.pause_check(made.uuid).status, "paused", "paused")
    resume_url = v1._get_api_request_url(f"checks/{made.uuid}/resume")
    r = v1._client.post(resume_url, content=b"")
    expect_eq(r.status_code, 200, "resume")
    expect_eq(r.json()["status"], "new", "resumed check is new")
    expect_eq(v1._client.post(resume_url, content=b"").status_code, 409, "resume when not paused")

    # Pings of the pinged check: newest first, healthchecks' types, the run's duration.
    pings = v1.get_check_pings(pc.uuid)
    types = [p.type for p in pings]
    expect_eq(types, ["success", "fail", "success", "start", "success"], "ping types")
    expect_eq([p.number_of_pings for p in pings], [5, 4, 3, 2, 1], "ping numbers")
    expect_eq(pings[2].duration, 90.0, "run duration")
    expect_eq(pings[1].duration, None, "no duration without a start")

    # Flips: v1 answers the bare array this library reads; v3 wraps it.
    flips = v1.get_check_flips(pc.uuid)
    expect_eq([f.up for f in flips], [1, 0], "flips newest first")
    expect(flips[0].timestamp > flips[1].timestamp, "flip times")
    expect_eq(v1.get_check_flips(pc.uuid, seconds=1), [], "seconds filter")
    wrapped = v3._client.get(v3._get_api_request_url(f"checks/{pc.uuid}/flips/")).json()
    expect_eq([f["up"] for f in wrapped["flips"]], [1, 0], "v3 flips")

    # v3: created with its fields; `started` is a field of its own.
    kept = v3.create_check(CheckCreate(name="hc-client-kept", tags="kept v3", timeout=600, grace=60))
    expect_eq(kept.status, "new", "v3 status")
    raw = v3._client.get(v3._get_api_request_url(f"checks/{kept.uuid}")).json()
    expect_eq(raw["started"], False, "v3 started")
    expect(raw["update_url"].endswith(f"/api/v3/checks/{kept.uuid}"), "v3 update_url")

    # A read key: unique_key instead of the UUID and URLs; writes are refused.
    listed = {c.name: c for c in ro.get_checks()}
    rc = listed["hc-client-kept"]
    expect(rc.unique_key, "unique_key")
    expect_eq((rc.uuid, rc.ping_url, rc.update_url), (None, None, None), "read key hides the secrets")
    expect_eq(ro.get_check(rc.unique_key).name, "hc-client-kept", "get by unique_key")
    raises(HCAPIAuthError, lambda: ro.create_check(CheckCreate(name="nope", timeout=60)), "read key create")
    raises(HCAPIAuthError, lambda: ro.pause_check(kept.uuid), "read key pause")
    raises(HCAPIAuthError, lambda: Client(api_key="wrong", api_url=api).get_checks(), "wrong key")

    # Refused input is a 400.
    bad = v1._client.post(v1._get_api_request_url("checks/"), json={"name": "x", "timeout": 10})
    raises(BadAPIRequestError, lambda: v1.check_response(bad), "timeout too small")
    expect_eq(bad.json()["error"], "json validation error: timeout is too small", "hc's wording")

    # Delete answers the check as it was; then it is gone.
    gone = v1.delete_check(made.uuid)
    expect_eq(gone.name, "hc-client-job-2", "deleted check")
    raises(CheckNotFoundError, lambda: v1.get_check(made.uuid), "deleted check is gone")
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 - any failure is a mismatch
        traceback.print_exc()
        sys.exit(1)
