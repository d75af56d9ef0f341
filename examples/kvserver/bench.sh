#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs redis-benchmark against kvserver on loopback, once per memory
# configuration, in one go, and prints one Markdown table: requests per
# second, p50/p99 latency (redis-benchmark --csv) and the server's peak and
# final RSS (VmHWM/VmRSS from /proc/PID/status, read after the benchmark,
# before shutdown).
#
# Configurations: --allocator=zone (zonealloc zones, glibc malloc for large
# values), and --allocator=malloc under glibc, jemalloc, tcmalloc and
# mimalloc (LD_PRELOAD). A configuration whose library is missing is
# reported and skipped.
#
# Usage: examples/kvserver/bench.sh [options]
#   --server PATH    kvserver binary (default: build/release/examples/kvserver/kvserver)
#   -n N             requests per test (default 1000000); scale down on a busy machine
#   --threads T      server event loops (default 2)
#   --clients C      redis-benchmark connections (default 50)
#   --pipeline P     requests per pipeline (default 16)
#   --keys R         random keyspace size, -r (default 100000)
#   --size D         value bytes, -d (default 64)
#   --tests LIST     redis-benchmark -t list (default set,get,incr)
#   --only NAMES     comma-separated subset of: zone,glibc,jemalloc,tcmalloc,mimalloc
set -euo pipefail
cd "$(dirname "$0")/../.."

server=build/release/examples/kvserver/kvserver
requests=1000000
threads=2
clients=50
pipeline=16
keys=100000
size=64
tests=set,get,incr
only=zone,glibc,jemalloc,tcmalloc,mimalloc
while (($# > 0)); do
  case "$1" in
    --server) server=$2; shift 2 ;;
    -n) requests=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --pipeline) pipeline=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if ! command -v redis-benchmark >/dev/null; then
  echo "bench.sh: redis-benchmark not found: apt-get install redis-tools" >&2
  exit 1
fi
if [[ ! -x "$server" ]]; then
  echo "bench.sh: no kvserver at '$server': build it (cmake --preset release && cmake --build --preset release) or pass --server" >&2
  exit 1
fi

libdir=/usr/lib/x86_64-linux-gnu
declare -A allocator=([zone]=zone [glibc]=malloc [jemalloc]=malloc [tcmalloc]=malloc [mimalloc]=malloc)
declare -A preload=([zone]="" [glibc]="" [jemalloc]=$libdir/libjemalloc.so.2
                    [tcmalloc]=$libdir/libtcmalloc_minimal.so.4 [mimalloc]=$libdir/libmimalloc.so.2)

work=$(mktemp -d "${TMPDIR:-/tmp}/kvserver-bench.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# KiB from a /proc/PID/status field, as MiB with one decimal.
status_mib() {
  awk -v field="$2:" '$1 == field { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

echo "# kvserver bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# redis-benchmark $(redis-benchmark --version | awk '{print $2}') -t $tests -n $requests -c $clients -P $pipeline -r $keys -d $size; server --threads=$threads"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| config | test | requests/s | p50 ms | p99 ms | peak RSS MiB | final RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|"
for name in zone glibc jemalloc tcmalloc mimalloc; do
  [[ ",$only," == *",$name,"* ]] || continue
  lib=${preload[$name]}
  if [[ -n "$lib" && ! -e "$lib" ]]; then
    echo "| $name | (skipped: $lib missing) | | | | | |"
    continue
  fi
  out=$work/$name.out
  err=$work/$name.err
  LD_PRELOAD=$lib "$server" --port=0 --threads="$threads" --allocator="${allocator[$name]}" \
    >"$out" 2>"$err" &
  server_pid=$!
  port=""
  for _ in $(seq 300); do
    # The server's shell may not have created $out yet.
    port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$out" 2>/dev/null || true)
    [[ -n "$port" ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    echo "bench.sh: kvserver ($name) did not start:" >&2
    cat "$err" >&2
    exit 1
  fi
  redis-benchmark -p "$port" -t "$tests" -n "$requests" -c "$clients" -P "$pipeline" \
    -r "$keys" -d "$size" --csv >"$work/$name.csv" 2>"$work/$name.bench_err" || {
    echo "bench.sh: redis-benchmark failed against $name:" >&2
    cat "$work/$name.bench_err" >&2
    exit 1
  }
  peak=$(status_mib "$server_pid" VmHWM)
  final=$(status_mib "$server_pid" VmRSS)
  kill -TERM "$server_pid"
  server_status=0
  wait "$server_pid" || server_status=$?
  server_pid=""
  if ((server_status != 0)); then
    echo "bench.sh: kvserver ($name) exited with status $server_status:" >&2
    tail -20 "$err" >&2
    exit 1
  fi
  # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  tr -d '"' <"$work/$name.csv" | awk -F, -v name="$name" -v peak="$peak" -v final="$final" \
    '$1 != "test" && NF >= 7 { printf "| %s | %s | %.0f | %s | %s | %s | %s |\n", name, $1, $2, $5, $7, peak, final }'
done
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
