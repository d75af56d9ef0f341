#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# zone_stress rejects bad flags before any run starts, with a message that
# names the bad value: exit 2 for a value out of range, 1 (Abseil's own) for
# a flag it cannot parse. Each row: the exit status, the flags, then text
# the message must hold.
#   bash stress/zone_stress_flags_test.sh build/release/stress/zone_stress
set -uo pipefail
zone_stress=$1

cases=(
  "2|--threads=-3|--threads must be in [0, 4096] (0: 4 x CPUs), got -3"
  "2|--threads=5000|got 5000"
  "1|--threads=abc|'abc'"
  "2|--seconds=nan|--seconds must be finite and >= 0, got nan"
  "2|--seconds=inf|got inf"
  "2|--seconds=-1|got -1"
  "2|--seconds=0 --ops=0|set --seconds or --ops"
  "2|--zones=0|--zones must be >= 1, got 0"
  "2|--block_size=8|--block_size must be >= 32 (the stamp), got 8"
  "2|--initial_blocks=2|got 2"
  "2|--burst_every=0|--burst_every must be >= 1, got 0"
  "2|--churn_ms=-5|--churn_ms must be >= 0, got -5"
  "2|--fork_timeout_s=0|--fork_timeout_s must be >= 1, got 0"
  "2|--handoff=xyz|got 'xyz'"
  "2|--mode=foo|'foo'"
  "1|--no_such_flag=1|'no_such_flag'"
  # Values only the library rejects (InvalidArgument from CreateZone).
  "2|--block_size=1073741824|got 1073741824"
  "2|--budget_bytes=1000|the 1000 bytes left"
)

failed=0
for row in "${cases[@]}"; do
  code=${row%%|*}
  rest=${row#*|}
  flags=${rest%%|*}
  want=${rest#*|}
  # The row's flags come last, so they override the quick defaults before them.
  # shellcheck disable=SC2086  # the flags split into arguments on purpose
  stderr=$("$zone_stress" --mode=off --threads=2 --seconds=0.1 --progress=false $flags 2>&1 >/dev/null)
  status=$?
  if [[ $status != "$code" || $stderr != *"$want"* ]]; then
    echo "FAIL: zone_stress $flags: exit $status, want $code; stderr: $stderr; want it to hold: $want" >&2
    failed=1
  else
    echo "ok: zone_stress $flags: exit $code: $stderr"
  fi
done
exit "$failed"
