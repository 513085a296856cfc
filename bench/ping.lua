-- wrk script: Basic-auth pings spread over the service ids in bench/.ids (one per line).
local ids = {}
for line in io.lines(os.getenv("HB_BENCH_IDS") or "bench/.ids") do
  ids[#ids + 1] = line
end
local auth = "Basic " .. (os.getenv("HB_BENCH_AUTH") or "")
local n = 0

request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  return wrk.format("POST", "/api/pings?service=" .. id .. "&data=", { ["Authorization"] = auth })
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
