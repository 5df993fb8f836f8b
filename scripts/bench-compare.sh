#!/usr/bin/env bash
# Side-by-side: vaultd and OpenBao, 3 nodes each on loopback, driven by
# HashiCorp's vault-benchmark (unchanged). Neither peer is part of this
# repository: build them outside the tree and pass their paths.
#
#   scripts/bench-compare.sh -vaultd bin/vaultd -bao /path/to/bao \
#       -vb /path/to/vault-benchmark [-rounds 2] [-duration 15s] [-out DIR] [-only vaultd|bao]
#
# Each round starts a fresh cluster of each server in turn (never both at
# once), runs every test, records the data-dir size, and stops it. Results:
# OUT/results.tsv (one line per run) and the raw JSON reports.
set -euo pipefail

VAULTD=bin/vaultd BAO= VB= ROUNDS=2 DURATION=15s OUT= ONLY= TESTS=
while [ $# -gt 0 ]; do
  case "$1" in
    -vaultd) VAULTD=$2; shift 2;;
    -bao) BAO=$2; shift 2;;
    -vb) VB=$2; shift 2;;
    -rounds) ROUNDS=$2; shift 2;;
    -duration) DURATION=$2; shift 2;;
    -out) OUT=$2; shift 2;;
    -only) ONLY=$2; shift 2;;
    -tests) TESTS=$2; shift 2;;
    *) echo "unknown flag $1" >&2; exit 2;;
  esac
done
[ -n "$VB" ] || { echo "-vb (vault-benchmark binary) is required" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/bench-compare.XXXX)}
mkdir -p "$OUT"
echo "results in $OUT" >&2

# test name, vault-benchmark test type, workers, target (active|standby|all)
ALL_TESTS="kvv2_write:kvv2_write:10:active kvv2_write:kvv2_write:50:active
kvv2_read:kvv2_read:10:active kvv2_read:kvv2_read:50:active
kvv2_write_standby:kvv2_write:50:standby kvv2_read_standby:kvv2_read:50:standby
kvv2_read_all3:kvv2_read:51:all
kvv1_write:kvv1_write:50:active kvv1_read:kvv1_read:50:active
transit_encrypt:transit_encrypt:50:active transit_decrypt:transit_decrypt:50:active
transit_sign:transit_sign:50:active transit_verify:transit_verify:50:active
pki_issue:pki_issue:10:active
userpass_login:userpass_auth:10:active approle_login:approle_auth:10:active"
ALL_TESTS=$(echo "$ALL_TESTS" | tr ' ' '\n')
[ -n "$TESTS" ] && ALL_TESTS=$(echo "$ALL_TESTS" | grep -E "^($TESTS):")

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_cluster() { # $1 = server kind (vaultd|bao), $2 = binary, $3 = dir
  local kind=$1 bin=$2 dir=$3
  rm -rf "$dir"; mkdir -p "$dir"
  PIDS=()
  for i in 1 2 3; do
    local ip=127.0.9.$i
    mkdir -p "$dir/n$i/raft"
    local join=""
    if [ $i -gt 1 ]; then join="  retry_join {
    leader_api_addr = \"http://127.0.9.1:8200\"
  }"; fi
    cat > "$dir/n$i/config.hcl" <<CFG
storage "raft" {
  path    = "$dir/n$i/raft"
  node_id = "n$i"
$join
}
listener "tcp" {
  address         = "$ip:8200"
  cluster_address = "$ip:8201"
  tls_disable     = true
}
api_addr      = "http://$ip:8200"
cluster_addr  = "https://$ip:8201"
disable_mlock = true
log_level     = "warn"
CFG
    "$bin" server -config="$dir/n$i/config.hcl" > "$dir/n$i/log" 2>&1 &
    PIDS+=($!)
  done
  local t0=$(date +%s.%N)
  wait_http http://127.0.9.1:8200
  local init
  init=$(curl -s -X PUT -d '{"secret_shares":1,"secret_threshold":1}' http://127.0.9.1:8200/v1/sys/init)
  KEY=$(echo "$init" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys_base64"][0])')
  TOKEN=$(echo "$init" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root_token"])')
  for i in 1 2 3; do
    wait_http http://127.0.9.$i:8200
    for _ in $(seq 1 600); do
      s=$(curl -s -X PUT -d "{\"key\":\"$KEY\"}" http://127.0.9.$i:8200/v1/sys/unseal || true)
      echo "$s" | grep -q '"sealed":false' && break
      sleep 0.1
    done
  done
  # wait: one active, two unsealed standbys that know the leader
  for _ in $(seq 1 1200); do
    a=0; s=0
    for i in 1 2 3; do
      c=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.9.$i:8200/v1/sys/health || true)
      [ "$c" = 200 ] && a=$((a+1)); [ "$c" = 429 ] && s=$((s+1))
    done
    [ $a = 1 ] && [ $s = 2 ] && break
    sleep 0.1
  done
  # both servers' autopilot keeps a joined node a non-voter until it has
  # been healthy for server_stabilization_time: measure with 3 voters
  local peers=0
  for _ in $(seq 1 600); do
    peers=$(curl -s -H "X-Vault-Token: $TOKEN" http://127.0.9.1:8200/v1/sys/storage/raft/configuration | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["data"]["config"]["servers"] if s.get("voter")))' 2>/dev/null || echo 0)
    [ "$peers" = 3 ] && break
    sleep 0.2
  done
  echo "$kind cluster up: 1 active + $s standbys, raft voters $peers, $(python3 -c "import time; print(round(time.time()-$t0,1))") s" >&2
  ACTIVE=""; STANDBY=""
  for i in 1 2 3; do
    c=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.9.$i:8200/v1/sys/health)
    if [ "$c" = 200 ]; then ACTIVE=http://127.0.9.$i:8200; elif [ -z "$STANDBY" ]; then STANDBY=http://127.0.9.$i:8200; fi
  done
}

wait_http() { for _ in $(seq 1 600); do curl -s -o /dev/null "$1/v1/sys/seal-status" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

stop_cluster() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; PIDS=(); }

vb_config() { # $1 test type, $2 workers, $3 addr
  local extra=""
  case $1 in
    kvv2_*|kvv1_*) extra="numkvs = 1000
    kvsize = 100";;
    transit_*) extra="payload_len = 128";;
    userpass_auth) extra="username = \"bench\"
    password = \"benchpass\"";;
    approle_auth) extra="role {
      role_name = \"bench\"
    }";;
  esac
  cat <<VB
vault_addr = "$3"
vault_token = "$TOKEN"
duration = "$DURATION"
workers = $2
cleanup = true
report_mode = "json"
test "$1" "t" {
  weight = 100
  config {
    $extra
  }
}
VB
}

run_test() { # kind round name type workers target datadir
  local kind=$1 round=$2 name=$3 type=$4 workers=$5 target=$6
  local addrs
  case $target in
    active) addrs=$ACTIVE;; standby) addrs=$STANDBY;;
    all) addrs="http://127.0.9.1:8200 http://127.0.9.2:8200 http://127.0.9.3:8200";;
  esac
  local n=0 w=$workers
  [ "$target" = all ] && w=$((workers / 3))
  local pids=()
  for a in $addrs; do
    n=$((n+1))
    vb_config "$type" "$w" "$a" > "$OUT/$kind.$round.$name.$n.hcl"
    "$VB" run -config="$OUT/$kind.$round.$name.$n.hcl" > "$OUT/$kind.$round.$name.$n.json" 2> "$OUT/$kind.$round.$name.$n.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || echo "vault-benchmark failed: $kind $name (see $OUT/$kind.$round.$name.*.err)" >&2; done
  python3 - "$OUT" "$kind" "$round" "$name" "$workers" "$n" <<'PY' | tee -a "$OUT/results.tsv"
import json, sys, glob
out, kind, rnd, name, workers, n = sys.argv[1:7]
rate = 0.0; reqs = 0; ok = 0; p50 = []; p99 = []
for i in range(1, int(n)+1):
    txt = open(f"{out}/{kind}.{rnd}.{name}.{i}.json").read()
    # the JSON report is the last JSON object printed
    start = txt.find('{')
    d = json.loads(txt[start:])
    m = d["metrics"]["t"] if "t" in d.get("metrics", {}) else d["metrics"]["total"]
    rate += m["throughput"]
    reqs += m["requests"]
    ok += round(m["requests"] * m["success"])
    p50.append(m["latencies"]["50th"] / 1e6); p99.append(m["latencies"]["99th"] / 1e6)
print(f"{kind}\t{rnd}\t{name}\t{workers}\t{rate:.0f}\t{max(p50):.2f}\t{max(p99):.2f}\t{reqs}\t{ok}")
PY
}

command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/results.tsv"
printf "server\tround\ttest\tworkers\treq/s\tp50_ms\tp99_ms\trequests\tsuccessful\n" | tee -a "$OUT/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for kind in vaultd bao; do
    [ -n "$ONLY" ] && [ "$ONLY" != "$kind" ] && continue
    bin=$VAULTD; [ $kind = bao ] && bin=$BAO
    [ -n "$bin" ] || continue
    dir=$OUT/data-$kind
    start_cluster "$kind" "$bin" "$dir"
    echo "$ALL_TESTS" | while IFS=: read -r name type workers target; do
      [ -n "$name" ] || continue
      run_test "$kind" "$round" "$name" "$type" "$workers" "$target"
    done
    for i in 1 2 3; do echo "$kind round $round n$i data dir: $(du -sm "$dir/n$i/raft" | cut -f1) MiB, RSS $(ps -o rss= -p "${PIDS[$((i-1))]}" | awk '{printf "%d", $1/1024}') MiB" | tee -a "$OUT/sizes.txt"; done
    stop_cluster
  done
done
