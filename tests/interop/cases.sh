# The interop cases, sourced by run.sh (which defines the helpers). Each
# case makes its own namespace so that one failing leaves the next clean.

t_handshake_nc() { # the handshake, and nc through echo and daytime
  newns || return 1; local ns=$NS
  start_synfin "$ns" hs serve $SRV --app echo:7 --app daytime:13 || return 1
  [ "$(echo hello synfin | inns "$ns" timeout 10 nc -N 198.18.0.2 7)" = "hello synfin" ] || return 1
  inns "$ns" timeout 10 nc 198.18.0.2 13 </dev/null | grep -q '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' || return 1
  stop_synfin hs
}
want handshake && check "handshake; nc through echo and daytime" t_handshake_nc

t_echo_big() { # size MB, extra serve flags...
  local mb=$1; shift
  newns || return 1; local ns=$NS
  start_synfin "$ns" big serve $SRV --app echo:7 "$@" || return 1
  inns "$ns" timeout 900 $KPEER echo-client 198.18.0.2 7 $((mb << 20)) >"$tmp/kpeer.log" 2>&1
  local rc=$?
  cat "$tmp/kpeer.log"
  sss big --stats | grep -E '^(RETRANSMITS|tun.rx_lost|tun.tx_lost|tun.rx_reordered) ' | tr '\n' ' '; echo
  stop_synfin big && [ $rc -eq 0 ]
}
want echo-clean && check "echo ${MB} MB kernel client -> synfin, SHA-256 equal" t_echo_big "$MB"
want echo-lossy && check "echo ${LOSSY_MB} MB with 2% loss + 2% reordering on synfin's side" \
  t_echo_big "$LOSSY_MB" --loss 0.02 --reorder 0.02 --rto-min 200 --seed 5

t_client() { # synfin connect -> kernel echo server, size MB
  local mb=$1; shift
  newns || return 1; local ns=$NS
  head -c $((mb << 20)) /dev/urandom >"$tmp/in.bin"
  start_kserver "$ns" serve-echo 0.0.0.0 9000 || return 1
  inns "$ns" timeout 300 "$SYNFIN" connect $SRV "$@" --ctl "$tmp/cl.sock" -q 198.18.0.1 9000 \
    <"$tmp/in.bin" >"$tmp/out.bin" 2>"$tmp/client.log"
  local rc=$?
  local a b; a=$(sha256sum <"$tmp/in.bin"); b=$(sha256sum <"$tmp/out.bin")
  echo "client: rc $rc, in $(stat -c %s "$tmp/in.bin") out $(stat -c %s "$tmp/out.bin")"
  [ $rc -eq 0 ] && [ "$a" = "$b" ]
}
want client && check "synfin connect -> kernel echo server, ${MB} MB, SHA-256 equal" t_client "$MB"

t_refused() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" rf serve $SRV --app echo:7 || return 1
  inns "$ns" timeout 10 $KPEER expect-refused 198.18.0.2 1 || return 1
  stop_synfin rf || return 1
  # and synfin's client against a closed kernel port: exit 3
  newns || return 1; local ns2=$NS
  inns "$ns2" timeout 20 "$SYNFIN" connect --tun sf0 --ctl "$tmp/rc.sock" -q 198.18.0.1 9 </dev/null
  [ $? -eq 3 ]
}
want refused && check "SYN to a closed port: ECONNREFUSED (kernel client; synfin connect exits 3)" t_refused

t_abort() {
  newns || return 1; local ns=$NS
  start_synfin "$ns" ab serve $SRV --app discard:9 || return 1
  local before; before=$(sss ab --stats | awk '$1=="RST_IN"{print $2}')
  inns "$ns" timeout 10 $KPEER abort 198.18.0.2 9 || return 1
  wait_for 5 bash -c "[ \$($SYNFIN ss --ctl $tmp/ab.sock --stats | awk '\$1==\"RST_IN\"{print \$2}') -gt $before ]" || return 1
  sss ab state connected | grep -q 198.18.0.1 && return 1
  stop_synfin ab || return 1
  # synfin's client aborting: the kernel reader sees ECONNRESET
  newns || return 1; local ns2=$NS
  start_kserver "$ns2" serve-sink 0.0.0.0 9001 expect-reset || return 1
  local sp=$kserver_pid
  inns "$ns2" timeout 20 "$SYNFIN" connect --tun sf0 --ctl "$tmp/ac.sock" -q --send-bytes 100000 --abort 198.18.0.1 9001 </dev/null
  wait $sp; local rc=$?
  cat "$tmp/kserver.log"; [ $rc -eq 0 ]
}
want abort && check "SO_LINGER 0 abort: synfin resets; kernel reader gets ECONNRESET" t_abort
