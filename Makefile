# synfin build. `make sim` builds and runs the main job; `make check` builds
# and runs every test (plain, then under ASan+UBSan, then the fuzzers).
#
# Layout tells the architecture: src/{base,wire,tcp,stack} is the sans-IO
# core (libc only) -> libsynfin.a; src/link holds drivers that may touch the
# OS -> libsynfin-link.a; tools/ builds the `synfin` command.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
SAN     ?=
OPT     ?= -O2
CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -g $(OPT) \
               -D_GNU_SOURCE -Iinclude -Isrc
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all
LDFLAGS_SAN := -fsanitize=address,undefined
endif
CFLAGS  := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
CORE_CFLAGS := $(CFLAGS)

HAVE_PCAP := $(shell printf '#include <pcap/pcap.h>\nint main(void){return 0;}' | \
               $(CC) -x c - -lpcap -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_PCAP),1)
TOOL_CFLAGS := -DSF_HAVE_PCAP=1
TOOL_LIBS   := -lpcap
endif
# lwIP (Debian's liblwip-dev) for `synfin bench`: its raw API in-process,
# dlopen()ed at run time (its tcp_* names clash with synfin's internals).
# (-include, not a '#include' line: make 4.3 passes '\#' through $(shell).)
HAVE_LWIP := $(shell printf 'int main(void){lwip_init();return tcp_new()==0;}' | \
               $(CC) -x c -isystem /usr/include/lwip -include lwip/init.h \
               -include lwip/tcp.h - -llwip -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_LWIP),1)
TOOL_CFLAGS += -DSF_HAVE_LWIP=1 -isystem /usr/include/lwip
endif
TOOL_LIBS += -lm
# zlib: the TCP lab's pages carry long runs' events gzip-compressed
HAVE_ZLIB := $(shell printf '#include <zlib.h>\nint main(void){return 0;}' | \
               $(CC) -x c - -lz -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_ZLIB),1)
TOOL_CFLAGS += -DSF_HAVE_ZLIB=1
TOOL_LIBS += -lz
endif
TOOL_LIBS += -pthread

CORE_SRC := $(sort $(wildcard src/base/*.c src/wire/*.c src/tcp/*.c src/stack/*.c))
LINK_SRC := $(sort $(filter-out src/link/xdp.c %.bpf.c,$(wildcard src/link/*.c)))
TOOL_SRC := $(sort $(wildcard tools/synfin/*.c tools/synfin/*/*.c tools/drill/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
SYSTEM_SRC := $(sort $(wildcard tests/system/test_*.c))
# tests/hostile: the hostile-input checklist (issue 14; its README.md)
HOSTILE_SRC := $(sort $(wildcard tests/hostile/test_*.c))
ATTACK_SRC := $(sort $(wildcard tests/attack/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
LINK_OBJ := $(LINK_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
SYSTEM_BIN := $(SYSTEM_SRC:tests/%.c=$(BUILD)/tests/%)
HOSTILE_BIN := $(HOSTILE_SRC:tests/%.c=$(BUILD)/tests/%)
ATTACK_BIN := $(ATTACK_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_BIN := $(UNIT_BIN) $(SYSTEM_BIN) $(HOSTILE_BIN) $(ATTACK_BIN)

LIB      := $(BUILD)/libsynfin.a
LINKLIB  := $(BUILD)/libsynfin-link.a
SYNFIN   := $(BUILD)/synfin

.PHONY: all sim test check check-plain check-san fuzz unit drill selftest \
        install clean deps
all: $(LIB) $(LINKLIB) $(SYNFIN)

deps:
	@scripts/deps.sh

$(BUILD)/src/%.o: src/%.c $(wildcard include/synfin/*.h) $(wildcard src/*/*.h src/*/*.def)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

# The command's own headers are included relative to tools/synfin
# ("cmds.h", "sim/sim_int.h"), so none looks like a public <synfin/...> one.
$(BUILD)/tools/synfin/%.o: tools/synfin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TOOL_CFLAGS) -Itools/synfin -MMD -MP -c $< -o $@

$(BUILD)/tools/drill/%.o: tools/drill/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TOOL_CFLAGS) -Itools -MMD -MP -c $< -o $@

# The public surface is what include/ says: the export list is every sf_
# function the public headers declare, and the core is linked into one
# object whose only global symbols are those. Internal names (tcp_output,
# ring_write, ...) cannot clash with an embedder's or another TCP stack's
# (lwIP has a tcp_output too). The unit tests, which test internal pieces,
# link the unstripped object.
PUB_HDR  := $(sort $(wildcard include/synfin/*.h))
EXPORTS  := $(BUILD)/exports.txt
$(EXPORTS): $(PUB_HDR)
	@mkdir -p $(dir $@)
	grep -ohE '\bsf_[a-z0-9_]+[[:space:]]*\([^*]' $(PUB_HDR) | sed -E 's/[[:space:]]*\(.*//' | sort -u > $@

$(BUILD)/synfin-core-all.o: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(LD) -r -o $@ $^

$(LIB): $(BUILD)/synfin-core-all.o $(EXPORTS)
	objcopy -w --keep-global-symbols=$(EXPORTS) $< $(BUILD)/synfin-core.o
	rm -f $@ && ar rcs $@ $(BUILD)/synfin-core.o

# The drivers likewise: one object, only the sf_ names of include/ global
# (sim_heap_push, impair_decide, ... stay inside).
$(BUILD)/synfin-link-all.o: $(LINK_OBJ)
	@mkdir -p $(dir $@)
	$(LD) -r -o $@ $^

$(LINKLIB): $(BUILD)/synfin-link-all.o $(EXPORTS)
	objcopy -w --keep-global-symbols=$(EXPORTS) $< $(BUILD)/synfin-link.o
	rm -f $@ && ar rcs $@ $(BUILD)/synfin-link.o

$(SYNFIN): $(TOOL_OBJ) $(LINKLIB) $(LIB)
	$(CC) $(LDFLAGS_SAN) $(TOOL_OBJ) $(LINKLIB) $(LIB) $(TOOL_LIBS) -o $@

# The C tests: tests/unit/test_*.c (pure pieces) and tests/system/test_*.c
# (two stacks or the simulator, end to end), one binary each, in
# $(BUILD)/tests/unit/ and $(BUILD)/tests/system/. A new test_*.c file in
# either folder is picked up; both use the harness tests/unit/check.h.
$(BUILD)/tests/%: tests/%.c $(wildcard tests/unit/*.h) $(wildcard tests/system/*.h) $(wildcard tests/attack/*.h) $(BUILD)/synfin-core-all.o $(BUILD)/synfin-link-all.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $< $(BUILD)/synfin-link-all.o $(BUILD)/synfin-core-all.o $(LDFLAGS_SAN) -lm -o $@

# tests/unit/test_socks5 and test_t2s_rules test pieces of the command
# (tools/synfin/t2s/socks5.c, rules.c): each linked with its one object.
$(BUILD)/tests/unit/test_socks5: tests/unit/test_socks5.c $(BUILD)/tools/synfin/t2s/socks5.o $(wildcard tests/unit/*.h) $(BUILD)/synfin-core-all.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itools/synfin $< $(BUILD)/tools/synfin/t2s/socks5.o $(BUILD)/synfin-core-all.o $(LDFLAGS_SAN) -lm -o $@
$(BUILD)/tests/unit/test_t2s_rules: tests/unit/test_t2s_rules.c $(BUILD)/tools/synfin/t2s/rules.o $(wildcard tests/unit/*.h) $(BUILD)/synfin-core-all.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itools/synfin $< $(BUILD)/tools/synfin/t2s/rules.o $(BUILD)/synfin-core-all.o $(LDFLAGS_SAN) -lm -o $@

# tests/unit/test_t2s_udp tests the UDP relay (tools/synfin/t2s/udp.c), which
# uses socks5.c: linked with those two objects.
$(BUILD)/tests/unit/test_t2s_udp: tests/unit/test_t2s_udp.c $(BUILD)/tools/synfin/t2s/udp.o $(BUILD)/tools/synfin/t2s/socks5.o $(wildcard tests/unit/*.h) $(BUILD)/synfin-core-all.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itools/synfin $< $(BUILD)/tools/synfin/t2s/udp.o $(BUILD)/tools/synfin/t2s/socks5.o $(BUILD)/synfin-core-all.o $(LDFLAGS_SAN) -lm -o $@

# The failing-allocator build (issue 14 item 1): the core with its malloc,
# calloc and realloc calls renamed __wrap_malloc/__wrap_calloc/
# __wrap_realloc, which tests/system/test_failalloc.c defines to fail the
# N-th allocation.
$(BUILD)/synfin-core-failalloc.o: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(LD) -r --wrap=malloc --wrap=calloc --wrap=realloc -o $@ $^

$(BUILD)/tests/system/test_failalloc: tests/system/test_failalloc.c $(wildcard tests/unit/*.h) $(BUILD)/synfin-core-failalloc.o $(BUILD)/synfin-link-all.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $< $(BUILD)/synfin-link-all.o $(BUILD)/synfin-core-failalloc.o $(LDFLAGS_SAN) -lm -o $@

$(HOSTILE_BIN): $(wildcard tests/hostile/*.h)

-include $(CORE_OBJ:.o=.d) $(LINK_OBJ:.o=.d) $(TOOL_OBJ:.o=.d)

# The main job: the simulated connection lifecycle.
sim: $(SYNFIN)
	$(SYNFIN) sim

# One pass of every test with this build's flags.
test: $(TEST_BIN) $(SYNFIN)
	@BUILD=$(BUILD) scripts/run-tests.sh $(TEST_BIN)

# The C tests alone, or some of them by name:
#   make unit                       every unit and system test binary
#   make unit T=wire                build/tests/unit/test_wire, all its cases
#   make unit T=stream:half_close   only test_stream's case test_half_close
#   make unit T="wire:drops,csum lifecycle"   make unit T=stream:--list
# T is a list of NAME[:CASE,CASE...]; NAME is a file's name with or without
# test_ (or unit/, system/, hostile/, attack/NAME); a CASE is a case's name or a part of
# names (the binary's own arguments: `--list` lists the cases).
unit_name = $(patsubst test_%,%,$(notdir $(firstword $(subst :, ,$(1)))))
T_BIN := $(foreach t,$(T),$(filter %/test_$(call unit_name,$(t)),$(TEST_BIN)))
unit: $(if $(T),$(T_BIN),$(TEST_BIN))
	@BUILD=$(BUILD) scripts/run-unit.sh $(if $(T),$(T),$(TEST_BIN))

# Everything: plain build, sanitizer build, fuzzers (short budget). Each
# build with CHECK_JOBS compiles at once (2, CI's cores: plain 33 -> 19 s,
# san 66 -> 32 s from clean); the tests themselves run as run-tests.sh says.
CHECK_JOBS ?= 2
check:
	$(MAKE) -j$(CHECK_JOBS) test BUILD=build/plain
	$(MAKE) -j$(CHECK_JOBS) test BUILD=build/san SAN=1 CC=clang
	$(MAKE) fuzz
	@echo "check: all suites passed"

# Every fuzz/fuzz_*.c for FUZZ_SECONDS each (10 in `make check`: its kept
# corpus fuzz/corpus/NAME is replayed first); longer runs, with
# FUZZ_MERGE=1 to keep what they find: docs/testing.md.
FUZZ_SECONDS ?= 10
fuzz:
	@BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzz.sh

install: $(LIB) $(LINKLIB) $(SYNFIN)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/synfin $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(LIB) $(LINKLIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/synfin/*.h $(DESTDIR)$(PREFIX)/include/synfin/
	install -m 755 $(SYNFIN) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' synfin.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/synfin.pc

clean:
	rm -rf build

# ------------------------------------------------------------ the TCP lab
# tools/synfin/lab/web/{page.html,lab.js,lab.css} (real files, edited as
# such) become C arrays in $(BUILD)/lab_assets.c, with the simulator's
# WebAssembly build (`make lab-wasm`: $(LAB_WASM)) when there is one, so
# that `synfin sim --html` writes one self-contained page (docs/lab.md).
LAB_WEB  := $(addprefix tools/synfin/lab/web/,page.html lab.js lab.css)
LAB_WASM := $(BUILD)/lab/synfin-lab.wasm
LAB_ASSETS := $(BUILD)/lab_assets.c
TOOL_OBJ += $(BUILD)/lab_assets.o
$(SYNFIN): $(BUILD)/lab_assets.o

$(LAB_ASSETS): $(LAB_WEB) $(wildcard $(LAB_WASM))
	@mkdir -p $(dir $@)
	{ for f in $(LAB_WEB); do (cd $$(dirname $$f) && xxd -i $$(basename $$f)); done; \
	  if [ -f $(LAB_WASM) ]; then (cd $(dir $(LAB_WASM)) && xxd -i synfin-lab.wasm); \
	  else echo 'unsigned char synfin_lab_wasm[1]; unsigned int synfin_lab_wasm_len = 0;'; fi; \
	} | sed 's/^unsigned/const unsigned/' > $@.tmp && mv $@.tmp $@

$(BUILD)/lab_assets.o: $(LAB_ASSETS)
	$(CC) $(CFLAGS) -w -c $< -o $@

# The simulator as WebAssembly, for the page's re-runs: the core, the
# simulated network and `synfin sim`, built with clang's wasm32-wasi
# target against Debian's wasi-libc (scripts/deps.sh), then embedded in
# every page the native synfin writes from then on.
WASM_CC     ?= clang
WASM_CFLAGS := --target=wasm32-wasi --sysroot=/usr -std=c11 -Wall -Wextra \
               -Werror -Wshadow -Wvla -O2 -D_GNU_SOURCE -DSF_LAB_NO_ASSETS \
               -Iinclude -Isrc -Itools/synfin
WASM_SRC    := $(CORE_SRC) $(addprefix src/link/,impair.c sim.c sim_heap.c sim_link.c) \
               $(sort $(wildcard tools/synfin/sim/*.c tools/synfin/io/*.c)) \
               $(addprefix tools/synfin/ladder/,model.c svg.c term.c text.c) \
               tools/synfin/opt.c $(wildcard tools/synfin/lab/*.c) \
               tools/synfin/lab/wasm/main.c
WASM_OBJ    := $(WASM_SRC:%.c=$(BUILD)/wasm/%.o)

.PHONY: lab-wasm
lab-wasm: $(LAB_WASM)
	$(MAKE) $(SYNFIN)

$(BUILD)/wasm/%.o: %.c
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_CFLAGS) -MMD -MP -c $< -o $@

$(LAB_WASM): $(WASM_OBJ)
	@mkdir -p $(dir $@)
	$(WASM_CC) --target=wasm32-wasi --sysroot=/usr -O2 -Wl,--strip-all $^ -o $@

-include $(WASM_OBJ:.o=.d)

# ------------------------------------------------------- attack tests
# tests/attack/ (issue 14 item 2, docs/attacks.md): floods and blind
# attacks in virtual time, each printing its FIGURE lines. `make test`
# runs them at their small size; `make attack ATTACK_SIZE=full` at the
# issue's (minutes; run it under nice).
ATTACK_SIZE ?= small
.PHONY: attack
attack: $(ATTACK_BIN)
	@fail=0; for t in $(ATTACK_BIN); do \
	  ATTACK_SIZE=$(ATTACK_SIZE) $$t || fail=1; done; exit $$fail

# ------------------------------------------------------------ AF_XDP
# The AF_XDP link (src/link/xdp.c, docs/xdp.md) needs libxdp and libbpf
# (Debian's libxdp-dev, libbpf-dev: scripts/deps.sh) and clang's bpf
# target for its XDP program (src/link/xdp_prog.bpf.c, compiled here and
# embedded in the binary as a C array). Only the synfin tool links them:
# libsynfin and libsynfin-link stay libc-only. Without them `synfin serve
# --xdp` says the build lacks AF_XDP.
BPF_CC   ?= clang
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || $(CC) -print-multiarch 2>/dev/null)
HAVE_XDP := $(shell printf '\043include <xdp/xsk.h>\nint main(void){return 0;}' | \
               $(CC) -x c - -lxdp -lbpf -o /dev/null 2>/dev/null && \
               echo 'int x;' | $(BPF_CC) -target bpf -x c -c - -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_XDP),1)
XDP_OBJ := $(BUILD)/src/link/xdp.o $(BUILD)/xdp_prog_obj.o
TOOL_OBJ += $(XDP_OBJ)
TOOL_CFLAGS += -DSF_HAVE_XDP=1
TOOL_LIBS += -lxdp -lbpf
$(SYNFIN): $(XDP_OBJ)

$(BUILD)/xdp_prog.bpf.o: src/link/xdp_prog.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CC) -target bpf -O2 -g -Wall -Wextra -Werror \
	  $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) -c $< -o $@

$(BUILD)/xdp_prog_obj.c: $(BUILD)/xdp_prog.bpf.o
	(cd $(BUILD) && xxd -i -n sf_xdp_prog_obj xdp_prog.bpf.o) | \
	  sed 's/^unsigned/const unsigned/' > $@.tmp && mv $@.tmp $@

$(BUILD)/xdp_prog_obj.o: $(BUILD)/xdp_prog_obj.c
	$(CC) $(CFLAGS) -w -c $< -o $@
endif

# The tools' optional libraries as found above (libpcap, lwIP, zlib,
# libxdp) are kept in $(BUILD)/tool-flags, rewritten only when they change,
# and every tool object depends on it: a library installed after a first
# build (scripts/deps.sh) rebuilds the tools, instead of leaving a synfin
# that says it was built without it.
TOOL_FLAGS_FILE := $(BUILD)/tool-flags
TOOL_FLAGS_NOW := $(strip $(TOOL_CFLAGS) $(TOOL_LIBS))
ifneq ($(shell cat $(TOOL_FLAGS_FILE) 2>/dev/null),$(TOOL_FLAGS_NOW))
$(shell mkdir -p $(BUILD) && echo '$(TOOL_FLAGS_NOW)' > $(TOOL_FLAGS_FILE))
endif
$(TOOL_OBJ) $(SYNFIN): $(TOOL_FLAGS_FILE)
