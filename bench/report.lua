-- wrk script: POST /api/v1/hosts/reports, each request a batch of HB_BENCH_BATCH (100)
-- snapshots of consecutive hosts bench-0000 … bench-(HB_BENCH_HOSTS-1), round robin. The
-- bodies are made once per thread: the client's CPU goes to sending, not to JSON.
local hosts = tonumber(os.getenv("HB_BENCH_HOSTS") or "1000")
local batch = tonumber(os.getenv("HB_BENCH_BATCH") or "100")
local auth = "Basic " .. (os.getenv("HB_BENCH_AUTH") or "")
local bodies = {}

local function report(i)
  return string.format(
    '{"name":"bench-%04d","interval":5,"cpu_pct":%d.5,"load1":1.5,"load5":1.2,"load15":1.0,"cores":32,'
      .. '"mem_used_bytes":%d,"mem_total_bytes":274877906944,"swap_used_bytes":0,"swap_total_bytes":8589934592,'
      .. '"disks":[{"mount":"/","used_bytes":100,"total_bytes":400},{"mount":"/data","used_pct":55.5}],'
      .. '"gpus":[{"index":0,"util_pct":97,"mem_used_mb":40000,"mem_total_mb":81920,"temp_c":66},'
      .. '{"index":1,"util_pct":12,"mem_used_mb":1000,"mem_total_mb":81920,"temp_c":41}],'
      .. '"units":[{"name":"nginx.service","active_state":"active","sub_state":"running"}]}',
    i, i % 80, 1000000000 + i)
end

init = function(args)
  for start = 0, hosts - 1, batch do
    local parts = {}
    for i = start, math.min(start + batch, hosts) - 1 do
      parts[#parts + 1] = report(i)
    end
    bodies[#bodies + 1] = '{"reports":[' .. table.concat(parts, ",") .. "]}"
  end
end

local n = 0
request = function()
  n = n + 1
  local body = bodies[(n % #bodies) + 1]
  return wrk.format("POST", "/api/v1/hosts/reports",
    { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
