#!/usr/bin/env bash
# bench/tun.sh: echo throughput of synfin over a TUN device against the
# kernel's TCP over a veth pair, with and without --offload (virtio-net
# header: TSO super-packets in, GSO packets out), and connection lifecycles
# over TUN against Linux loopback, all measured in the same run with the
# same python client; the echo ratios to veth are printed at the end.
# Then iperf3 through synfin's proxy app (kernel iperf3 client -> synfin ->
# kernel iperf3 server): upload (the client sends, so synfin receives the
# kernel's super-packets) and download (-R), each with --offload and
# --no-offload, four figures, beside kernel-kernel iperf3 over the veth.
# A benchmark, not a test. Root; namespaces sfb<PID>-*; addresses in
# 198.18.0.0/15. Env: BENCH_MB (default 100), BENCH_CONNS (default 2000),
# BENCH_IPERF_SECS (default 10), SYNFIN (default build/synfin),
# BENCH_SERVE_ARGS (more options for both synfin servers, e.g.
# "--busy-poll 1000").
set -u
SYNFIN=$(readlink -f "${SYNFIN:-build/synfin}")
HERE=$(cd "$(dirname "$0")" && pwd)
KPEER="python3 $HERE/../tests/interop/kpeer.py"
MB=${BENCH_MB:-100}; CONNS=${BENCH_CONNS:-2000}; SECS=${BENCH_IPERF_SECS:-10}
A=sfb$$-a; B=sfb$$-b; T=sfb$$-t; O=sfb$$-o
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 0.3
            for n in $A $B $T $O; do ip netns del $n 2>/dev/null; done; rm -f /tmp/sfb$$.sock /tmp/sfb$$-o.sock; }
trap cleanup EXIT
for n in $A $B $T $O; do ip netns add $n && ip netns exec $n ip link set lo up || exit 1; done
ip link add sfb$$x type veth peer name sfb$$y || exit 1
ip link set sfb$$x netns $A; ip link set sfb$$y netns $B
ip netns exec $A ip addr add 198.19.9.1/24 dev sfb$$x; ip netns exec $A ip link set sfb$$x up
ip netns exec $B ip addr add 198.19.9.2/24 dev sfb$$y; ip netns exec $B ip link set sfb$$y up

echo "== echo throughput, $MB MB each way (python client, sendall/recv 256 KB)"
ip netns exec $B $KPEER serve-echo-many 198.19.9.2 7 >/dev/null & pids+=($!)
ip netns exec $A $KPEER serve-echo-many 127.0.0.1 7 >/dev/null & pids+=($!)
PROXY="--app proxy:5201=198.18.0.1:5202"
ip netns exec $T "$SYNFIN" serve --tun sf0 --app echo:7 $PROXY --no-offload ${BENCH_SERVE_ARGS:-} --ctl /tmp/sfb$$.sock 2>/dev/null & pids+=($!)
ip netns exec $O "$SYNFIN" serve --tun sf0 --app echo:7 $PROXY --offload ${BENCH_SERVE_ARGS:-} --ctl /tmp/sfb$$-o.sock 2>/dev/null & pids+=($!)
sleep 1
# iperf3 servers: beside the veth, and on each TUN's kernel side (the
# address exists once synfin has brought sf0 up)
ip netns exec $B iperf3 -s -B 198.19.9.2 -p 5202 >/dev/null 2>&1 & pids+=($!)
ip netns exec $T iperf3 -s -B 198.18.0.1 -p 5202 >/dev/null 2>&1 & pids+=($!)
ip netns exec $O iperf3 -s -B 198.18.0.1 -p 5202 >/dev/null 2>&1 & pids+=($!)
mbit() { sed -n 's/.*(\([0-9.]*\) Mbit.*/\1/p' | tail -1; }
run_echo() { # label ns addr: prints the client's line, keeps the rate in $rate
  local out; out=$(ip netns exec "$2" timeout 600 $KPEER echo-client "$3" 7 $((MB << 20)) 2>&1)
  printf "%-26s%s\n" "$1" "$out"; rate=$(echo "$out" | mbit)
}
run_echo "kernel-kernel veth:" $A 198.19.9.2; veth=$rate
run_echo "synfin TUN --no-offload:" $T 198.18.0.2; plain=$rate
run_echo "synfin TUN --offload:" $O 198.18.0.2; off=$rate
awk -v v="${veth:-0}" -v p="${plain:-0}" -v o="${off:-0}" 'BEGIN {
  if (v > 0) printf "ratio to veth: --no-offload %.2f, --offload %.2f\n", p / v, o / v }'
echo "== connection lifecycles (connect, 1 byte each way, close)"
printf "%-26s" "Linux loopback:"; ip netns exec $A timeout 300 $KPEER lifecycles 127.0.0.1 7 $CONNS
printf "%-26s" "synfin TUN --no-offload:"; ip netns exec $T timeout 300 $KPEER lifecycles 198.18.0.2 7 $CONNS
printf "%-26s" "synfin TUN --offload:"; ip netns exec $O timeout 300 $KPEER lifecycles 198.18.0.2 7 $CONNS
echo "== iperf3, $SECS s each (kernel client; through synfin: serve --app proxy:5201=198.18.0.1:5202)"
iperf() { # label ns addr port [-R]: prints the receiver's rate
  local json; json=$(ip netns exec "$2" timeout $((SECS + 30)) iperf3 -c "$3" -p "$4" -t "$SECS" ${5:-} -J 2>/dev/null)
  printf "%-40s%s\n" "$1" "$(echo "$json" | python3 -c 'import json, sys
try:
    j = json.load(sys.stdin); print("%.0f Mbit/s" % (j["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception as e:
    print("failed:", (j.get("error") if "j" in globals() else None) or e)')"
}
iperf "kernel-kernel veth:" $A 198.19.9.2 5202
iperf "upload (kernel -> synfin) --no-offload:" $T 198.18.0.2 5201
iperf "upload (kernel -> synfin) --offload:" $O 198.18.0.2 5201
iperf "download (-R) --no-offload:" $T 198.18.0.2 5201 -R
iperf "download (-R) --offload:" $O 198.18.0.2 5201 -R
