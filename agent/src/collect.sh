# hb-agent collection script. POSIX sh; needs only coreutils/procps (busybox works).
# Arguments: $1 = CPU sampling interval in seconds (may be fractional),
#            $2 = limit in seconds for each outside tool (df, nvidia-smi, systemctl, ps),
#            $3 = systemd units to read, comma-separated, or "-" for none,
#            $4 = 1 to list the running and enabled service units.
# Prints "@@hb <section> [args]" markers followed by raw tool output; collect.rs
# parses them. A tool's section ends with its exit status (124: timed out), or says
# "absent" when the tool is not installed. Each section is best effort, so one missing
# or failing tool costs one section, not the whole host; "@@hb end" tells the agent
# the output is complete.
interval=${1:-1}
step=${2:-10}
units=${3:--}
discover=${4:-0}
LC_ALL=C
export LC_ALL
# Non-login SSH sessions can have a short PATH; tools live in these on every distro.
PATH="$PATH:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
export PATH

# A stale NFS mount or a wedged GPU driver can hang df or nvidia-smi for ever, and a
# tool stuck like that may ignore SIGTERM: bound each one, with SIGKILL to follow, so
# the host still reports everything else and nothing is left running here.
#   GNU coreutils, busybox >= 1.30 built with -k:  timeout -k 1 SECS
#   busybox without -k:                           timeout -s KILL SECS
#   old busybox (< 1.30):                         timeout -s KILL -t SECS
bounded=""
if command -v timeout >/dev/null 2>&1; then
	if timeout -k 1 1 true >/dev/null 2>&1; then
		bounded="timeout -k 1 $step"
	elif timeout -s KILL 1 true >/dev/null 2>&1; then
		bounded="timeout -s KILL $step"
	elif timeout -s KILL -t 1 true >/dev/null 2>&1; then
		bounded="timeout -s KILL -t $step"
	fi
fi

# run CMD ARGS...: output (stderr included) in $out, exit status in $rc; 124 when the
# limit was reached (GNU timeout says 124, or 137 when it had to use SIGKILL).
run() {
	out=$($bounded "$@" 2>&1)
	rc=$?
	if [ -n "$bounded" ] && [ "$rc" -eq 137 ]; then rc=124; fi
}

# have SECTION TOOL: true when TOOL is installed, else prints "@@hb SECTION absent".
have() {
	command -v "$2" >/dev/null 2>&1 && return 0
	echo "@@hb $1 absent"
	return 1
}

echo "@@hb version 2"
echo "@@hb self $$"
echo "@@hb bounded ${bounded:-none}"

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

if have df df; then
	run df -PT -B1
	kind=bytes
	# Old busybox df knows neither -T nor -B: no header came, so ask in KiB.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ! printf "%s\n" "$out" | grep -q "^Filesystem"; then
		run df -Pk
		kind=kib
	fi
	echo "@@hb df $kind $rc"
	printf "%s\n" "$out"
fi

if have gpu nvidia-smi; then
	run nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,name --format=csv,noheader,nounits
	echo "@@hb gpu $rc"
	printf "%s\n" "$out"
	if [ "$rc" -eq 0 ]; then
		run nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory,process_name --format=csv,noheader,nounits
		echo "@@hb gpuapps $rc"
		printf "%s\n" "$out"
	fi
fi

if have ps ps; then
	run ps -eo pid=,ppid=,pcpu=,pmem=,rss=,args=
	kind=full
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 127 ]; then
		# busybox ps: no -e, pcpu or pmem; pid, ppid and args are enough for required processes.
		run ps -o pid,ppid,args
		kind=basic
	fi
	echo "@@hb ps $kind $rc"
	printf "%s\n" "$out"
fi

if [ "$units" != "-" ] && have units systemctl; then
	# Units were checked by the agent to be plain names: no quoting needed.
	run systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState -- $(echo "$units" | tr , " ")
	echo "@@hb units $rc"
	printf "%s\n" "$out"
	units_rc=$rc
fi

# A systemctl that just hung would hang again: no second wait.
if [ "$discover" = 1 ] && [ "${units_rc:-0}" -ne 124 ] && have loaded systemctl; then
	run systemctl list-units --type=service --all --no-legend --plain --no-pager
	echo "@@hb loaded $rc"
	printf "%s\n" "$out"
	if [ "$rc" -eq 0 ]; then
		run systemctl list-unit-files --type=service --state=enabled --no-legend --no-pager
		echo "@@hb enabled $rc"
		printf "%s\n" "$out"
	fi
fi

echo "@@hb end"
