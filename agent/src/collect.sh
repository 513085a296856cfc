# hb-agent collection script. POSIX sh; needs only coreutils/procps (busybox works).
# Arguments: $1 = CPU sampling interval in seconds (may be fractional),
#            $2 = limit in seconds for df and nvidia-smi each.
# Prints "@@hb <section> [args]" markers followed by raw tool output; collect.rs
# parses them. Each section is best effort, so one missing tool costs one section,
# not the whole host; "@@hb end" tells the agent the output is complete.
interval=${1:-1}
step=${2:-10}
LC_ALL=C
export LC_ALL
# Non-login SSH sessions can have a short PATH; tools live in these on every distro.
PATH="$PATH:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
export PATH

# A stale NFS mount or a wedged GPU driver can hang df or nvidia-smi for ever; bound
# them so the host still reports everything else.
bounded=""
if command -v timeout >/dev/null 2>&1; then bounded="timeout $step"; fi

echo "@@hb version 1"
echo "@@hb self $$"

echo "@@hb cores"
getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || grep -c "^processor" /proc/cpuinfo

echo "@@hb stat"
head -n 1 /proc/stat
sleep "$interval" 2>/dev/null || sleep 1
head -n 1 /proc/stat

echo "@@hb loadavg"
cat /proc/loadavg

echo "@@hb meminfo"
grep -E "^(MemTotal|MemFree|MemAvailable|Buffers|Cached|SwapTotal|SwapFree):" /proc/meminfo

out=$($bounded df -PT -B1 2>/dev/null)
if [ -n "$out" ]; then
	echo "@@hb df bytes"
	printf "%s\n" "$out"
else
	echo "@@hb df kib"
	$bounded df -Pk 2>/dev/null
fi

if command -v nvidia-smi >/dev/null 2>&1; then
	out=$($bounded nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu --format=csv,noheader,nounits 2>&1)
	echo "@@hb gpu $?"
	printf "%s\n" "$out"
else
	echo "@@hb gpu absent"
fi

if out=$(ps -eo pid=,ppid=,pcpu=,pmem=,rss=,args= 2>/dev/null); then
	echo "@@hb ps full"
	printf "%s\n" "$out"
else
	# busybox ps: no pcpu/pmem; enough to check required processes.
	echo "@@hb ps basic"
	ps -o pid,ppid,args 2>/dev/null
fi

echo "@@hb end"
