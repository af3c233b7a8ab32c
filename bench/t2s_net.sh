# bench/t2s_net.sh: what bench/tun2socks.sh and bench/tun2socks_up.sh
# share (sourced, not run): the namespaces and their cleanup, the network
# of both topologies, the servers, the engines' start, CPU ticks.
#
#   c: 198.18.3.2 --veth-- e: 198.18.3.1 | TUN 198.18.0.1/24 (synfin .0.2)
#                          e: 198.18.1.1 --veth-- s: 198.18.1.2 (SOCKS5
#                          :1080, bench/t2s_bench.c: splice, 1 MB pipes)
#                                                  s: 198.18.2.2 on lo
#                                                  (iperf3 -s :5201)
#
# gateway: the client in c, routed through e into the TUN (MTU 1500);
# local: the client in e (TUN MTU $BIGMTU). The caller sets SYNFIN, HERE
# (bench/) and BIGMTU. Addresses in 198.18.0.0/15 only; the namespaces
# are PREFIX<PID>-{c,e,s}, deleted by name on exit.

t2s_net_init() { # PREFIX: the names, a scratch folder, cleanup on exit; builds $B
  local x=$1
  C=$x$$-c; E=$x$$-e; S=$x$$-s
  VCE=$x$$ce; VEC=$x$$ec; VES=$x$$es; VSE=$x$$se; TUN=$x$$t
  tmp=$(mktemp -d /tmp/$x.XXXXXX)
  pids=()
  trap t2s_net_cleanup EXIT
  cc -O2 -pthread -o "$tmp/t2sb" "$HERE/t2s_bench.c" || exit 1
  B=$tmp/t2sb
}
t2s_net_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for n in $C $E $S; do ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null; done
  for n in $C $E $S; do ip netns del $n 2>/dev/null; done
  rm -rf "$tmp"
}
inc() { ip netns exec $C "$@"; }
ine() { ip netns exec $E "$@"; }
ins() { ip netns exec $S "$@"; }

t2s_net_up() { # both topologies' links, addresses and routes
  for n in $C $E $S; do
    ip netns add $n && ip netns exec $n ip link set lo up || exit 1
    ip netns exec $n sysctl -qw net.ipv4.ip_local_port_range="1024 65000" \
      net.ipv4.tcp_tw_reuse=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  ine sysctl -qw net.ipv4.ip_forward=1
  ip link add $VCE netns $C type veth peer name $VEC netns $E || exit 1
  ip link add $VES netns $E type veth peer name $VSE netns $S || exit 1
  inc ip addr add 198.18.3.2/24 dev $VCE; inc ip link set $VCE up
  inc ip route add default via 198.18.3.1
  ine ip addr add 198.18.3.1/24 dev $VEC; ine ip link set $VEC up
  ine ip addr add 198.18.1.1/24 dev $VES; ine ip link set $VES up
  ins ip addr add 198.18.1.2/24 dev $VSE; ins ip link set $VSE up
  ins ip addr add 198.18.2.2/32 dev lo
  ins ip route add 198.18.3.0/24 via 198.18.1.1
  ine ip route add 198.18.2.0/24 via 198.18.1.2 table 95   # direct sockets
  ine ip rule add fwmark 0x5f lookup 95 pref 90
}

t2s_servers() { # iperf3 -s :5201 and the SOCKS5 server :1080 (its pid SOCKS)
  ip netns exec $S iperf3 -s -B 198.18.2.2 -p 5201 >/dev/null 2>&1 & pids+=($!)
  ip netns exec $S "$B" socks 198.18.1.2 1080 >"$tmp/socks.log" 2>&1 & SOCKS=$!; pids+=($!)
}
t2s_servers_wait() { # then until the SOCKS5 server answers
  sleep 0.5
  ins bash -c 'exec 3<>/dev/tcp/198.18.1.2/1080' || { echo "SOCKS server did not start"; exit 1; }
}

# start_t2s / start_kernel TOPO PORT: set ENG (pid) and DST (the address
# the client uses). (ip netns exec, not a shell function, before each "&":
# $! is the process.)
start_t2s() { # TOPO PORT [tun2socks upstream args...]
  local topo=$1; shift; shift
  local mtu=1500; [ "$topo" = local ] && mtu=$BIGMTU
  [ $# -gt 0 ] || set -- --proxy socks5://198.18.1.2:1080
  ip netns exec $E "$SYNFIN" tun2socks --tun $TUN --mtu $mtu --ctl "$tmp/e.sock" "$@" \
    >"$tmp/engine.log" 2>&1 & ENG=$!; pids+=($!)
  for _ in $(seq 50); do "$SYNFIN" ss --ctl "$tmp/e.sock" >/dev/null 2>&1 && break; sleep 0.1; done
  if [ "$topo" = gateway ]; then
    ine ip rule add iif $VEC lookup 100 pref 100
    ine ip route add default dev $TUN table 100
  else
    ine ip route add 198.18.2.0/24 dev $TUN
  fi
  DST=198.18.2.2
}
start_kernel() { # redsocks on :12345, nat REDIRECT of the client's TCP
  cat >"$tmp/redsocks.conf" <<EOF
base { log_debug = off; log_info = off; log = stderr; daemon = off; redirector = iptables; }
redsocks { local_ip = 0.0.0.0; local_port = 12345; ip = 198.18.1.2; port = 1080; type = socks5; }
EOF
  ip netns exec $E bash -c "ulimit -n 65536; exec redsocks -c $tmp/redsocks.conf" >"$tmp/engine.log" 2>&1 & ENG=$!; pids+=($!)
  if [ "$1" = gateway ]; then
    ine iptables -t nat -A PREROUTING -i $VEC -p tcp -d 198.18.2.0/24 -j REDIRECT --to-ports 12345
  else
    # (a route first: the kernel routes before the OUTPUT hook redirects)
    ine ip route add 198.18.2.0/24 via 198.18.1.2
    ine iptables -t nat -A OUTPUT -p tcp -d 198.18.2.0/24 -j REDIRECT --to-ports 12345
  fi
  sleep 0.3
  DST=198.18.2.2
}

ticks() { [ -r "/proc/$1/stat" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
# busy ticks of the whole machine, every core (user nice system irq softirq
# steal, /proc/stat): the kernel's softirq work that no process is charged
mach_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

