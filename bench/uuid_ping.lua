-- wrk script: unauthenticated healthchecks-style pings, POST /ping/<uuid>, spread over the
-- ping UUIDs in HB_BENCH_UUIDS (one per line).
local uuids = {}
for line in io.lines(os.getenv("HB_BENCH_UUIDS") or "bench/.uuids") do
  uuids[#uuids + 1] = line
end
local n = 0

request = function()
  n = n + 1
  return wrk.format("POST", "/ping/" .. uuids[(n % #uuids) + 1])
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
