#!/usr/bin/env bash
# `make install` puts the library, its headers, the synfin command and a
# pkg-config file under PREFIX; a program built with pkg-config's flags
# against the installed copy links and runs.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
check() { if "${@:2}"; then passed=$((passed+1)); echo "ok - $1"; else failed=$((failed+1)); echo "not ok - $1"; fi; }

make -s -C "$top" install BUILD="$BUILD" DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/install.log" 2>&1
check "make install succeeds" test -f "$tmp/root/usr/lib/libsynfin.a"
check "headers installed" test -f "$tmp/root/usr/include/synfin/synfin.h" -a -f "$tmp/root/usr/include/synfin/sim.h"
check "synfin installed" test -x "$tmp/root/usr/bin/synfin"
check "pkg-config file installed" test -f "$tmp/root/usr/lib/pkgconfig/synfin.pc"

cat >"$tmp/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <synfin/synfin.h>
static void out(void *ctx, const unsigned char *d, size_t n) { (void)d; ++*(int *)ctx; (void)n; }
int main(void)
{
    int sent = 0;
    struct sf_stack_cfg cfg;
    sf_stack_cfg_default(&cfg);
    cfg.addr = 0xC6120001u;
    cfg.output = out;
    cfg.output_ctx = &sent;
    struct sf_stack *st;
    if (sf_stack_create(&cfg, 0, &st))
        return 1;
    int sd = sf_socket(st);
    int r = sf_connect(st, sd, &(struct sf_addr){0xC6120002u, 80});
    sf_stack_free(st);
    printf("%s %d\n", sf_errname(r), sent);
    return !(r == SF_EINPROGRESS && sent == 1);
}
C
flags=""
case "$BUILD" in *san*) flags="-fsanitize=address,undefined" ;; esac
export PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_LIBDIR="$tmp/root/usr/lib/pkgconfig"
check "a program builds with pkg-config --cflags --libs synfin" \
  sh -c "${CC:-cc} $flags \"$tmp/app.c\" \$(pkg-config --cflags --libs synfin) -o \"$tmp/app\""
check "and runs: connect sends a SYN" sh -c "\"$tmp/app\" | grep -qx 'EINPROGRESS 1'"
check "only sf_ symbols are exported" sh -c "test -s \"$tmp/root/usr/lib/libsynfin.a\" && ! nm \"$tmp/root/usr/lib/libsynfin.a\" | awk '\$2 ~ /^[TDBR]\$/ {print \$3}' | grep -v '^sf_' | grep -q ."
# The public surface is what the installed headers say: every function the
# core exports is declared there (an internal helper with the public prefix
# would fail this), and every function they declare is defined somewhere.
nm "$tmp/root/usr/lib/libsynfin.a" "$tmp/root/usr/lib/libsynfin-link.a" |
  awk 'NF == 3 && $2 ~ /^[TDBR]$/ {print $3}' | sort -u >"$tmp/exported"
grep -ohE '\bsf_[a-z0-9_]+[[:space:]]*\([^*]' "$tmp/root/usr/include/synfin/"*.h |
  sed -E 's/[[:space:]]*\(.*//' | sort -u >"$tmp/declared"
check "every function either library exports is declared in include/synfin" \
  sh -c "test -s \"$tmp/exported\" && ! comm -23 \"$tmp/exported\" \"$tmp/declared\" | grep ."
( nm "$tmp/root/usr/lib/libsynfin.a" "$tmp/root/usr/lib/libsynfin-link.a" 2>/dev/null |
  awk 'NF == 3 && $2 ~ /^[TDBR]$/ {print $3}' | sort -u ) >"$tmp/defined"
check "every declared function is defined" \
  sh -c "! comm -13 \"$tmp/defined\" \"$tmp/declared\" | grep ."
# The tools' optional libraries (libpcap, lwIP, zlib, libxdp) are found
# when make starts: a build made before one was installed must rebuild the
# tools once it is, not keep a synfin that says it was built without it.
# A changed $(BUILD)/tool-flags (as a library found anew changes it) makes
# `make -n` want the tools again; the stamp is put back as it was.
stamp="$top/$BUILD/tool-flags"
if [ -f "$stamp" ]; then
  cp -p "$stamp" "$tmp/stamp"
  echo "-DSF_HAVE_ZLIB=1 -lz" >"$stamp"
  make -n -C "$top" BUILD="$BUILD" all >"$tmp/dry.log" 2>&1
  cp -p "$tmp/stamp" "$stamp"
  check "a library found after a first build rebuilds the tools (BUILD/tool-flags)" \
    grep -q "tools/synfin/net/serve.c" "$tmp/dry.log"
fi
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
