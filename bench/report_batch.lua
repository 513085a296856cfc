-- wrk script: POST /api/v1/hosts/reports, each request a batch of HB_BENCH_BATCH (100)
-- snapshots of hosts bench-00000…, with varying values. Bodies are made in advance (per
-- thread) so wrk spends its time sending, not formatting.
local hosts = tonumber(os.getenv("HB_BENCH_HOSTS") or "1000")
local batch = tonumber(os.getenv("HB_BENCH_BATCH") or "100")
local auth = "Basic " .. (os.getenv("HB_BENCH_AUTH") or "")
local bodies = {}
local n = 0

local function snapshot(i, k)
  local cpu = (i * 7 + k * 13) % 100
  return string.format(
    '{"name":"bench-%05d","cpu_pct":%d.5,"load1":%.2f,"load5":%.2f,"load15":%.2f,"cores":16,' ..
    '"mem_used_bytes":%d,"mem_total_bytes":68719476736,"swap_used_bytes":0,"swap_total_bytes":0,' ..
    '"disks":[{"mount":"/","used_bytes":%d,"total_bytes":500000000000},' ..
    '{"mount":"/data","used_bytes":%d,"total_bytes":4000000000000}],' ..
    '"gpus":[{"index":0,"name":"A100","util_pct":%d,"mem_used_mb":%d,"mem_total_mb":81920,"temp_c":%d,"power_w":%d},' ..
    '{"index":1,"name":"A100","util_pct":%d,"mem_used_mb":%d,"mem_total_mb":81920,"temp_c":%d,"power_w":%d}]}',
    i % hosts, cpu, cpu / 25, cpu / 30, cpu / 35,
    (20 + (i + k) % 40) * 1000000000, (100 + k % 200) * 1000000000, (1000 + k % 2000) * 1000000000,
    cpu, 4096 + cpu * 100, 40 + cpu % 30, 100 + cpu,
    (cpu + 31) % 100, 8192 + cpu * 50, 45 + cpu % 25, 150 + cpu)
end

init = function(args)
  local seed = math.random(0, hosts - 1)
  for b = 1, 32 do
    local parts = {}
    for j = 1, batch do
      parts[j] = snapshot(seed + b * batch + j, b * 31 + j)
    end
    bodies[b] = '{"reports":[' .. table.concat(parts, ",") .. ']}'
  end
end

request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/hosts/reports",
    { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, bodies[(n % #bodies) + 1])
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d errors_other=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
