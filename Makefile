# ptrig: port triggering in eBPF. `make` builds into build/; `make test` runs
# every suite (as root); `make demo` runs the lab demo; `make bench` the benchmarks.

BUILD      ?= build
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=

CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# CFLAGS/LDFLAGS are the user's to override (`make CFLAGS=-O0`); the flags
# the build needs live in PTRIG_* and are always added.
CFLAGS     ?= -O2 -g
PTRIG_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iloader -I$(BUILD) -MMD -MP
ALL_CFLAGS  = $(PTRIG_CFLAGS) $(CFLAGS)
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	      -Wno-unused-parameter -Iinclude -Ivmlinux -Ibpf -MMD -MP
LDLIBS     := -lbpf -lelf -lz -ljson-c -lmicrohttpd -lsystemd
# flowtables (libnftnl over libmnl): every binary links attach.o, which reads them
LDLIBS     += -lnftnl -lmnl

# A failed recipe must not leave a half-written target that looks up to date.
.DELETE_ON_ERROR:

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LOADER_LIB_SRCS := $(filter-out loader/main.c,$(wildcard loader/*.c))
LOADER_LIB_OBJS := $(patsubst loader/%.c,$(BUILD)/loader/%.o,$(LOADER_LIB_SRCS))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
PROG_SRCS  := $(wildcard tests/bpf/test_*.c)
PROG_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(PROG_SRCS))
KERNEL_SRCS := $(wildcard tests/kernel/*.c)
KERNEL_BINS := $(patsubst tests/kernel/%.c,$(BUILD)/tests/%,$(KERNEL_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps vmlinux install clean test test-kernels demo bench format check-root image
all: $(BUILD)/ptrig-load $(UNIT_BINS) $(PROG_BINS) $(KERNEL_BINS) $(BUILD)/ptrig-maps.txt

# "FIELD NAME" per pinned map, from the one list in include/ptrig.h, for the
# shell tests.
$(BUILD)/ptrig-maps.txt: include/ptrig.h Makefile
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)printf '#include "ptrig.h"\n#define X(f) @f PTRIG_MAP(f)@\nPTRIG_MAPS(X)\n' | \
		$(CC) -E -P -Iinclude -x c - | tr '@' '\n' | sed -n 's/^ *\([a-z]\+\) \+\(ptrig_[a-z0-9_]\+\) *$$/\1 \2/p' >$@.tmp && mv $@.tmp $@

# Install the Debian packages once per machine (re-run when the list changes).
$(DEPS_STAMP): tools/install-deps.sh
	$(call msg,DEPS,tools/install-deps.sh)
	$(Q)bash tools/install-deps.sh
	$(Q)mkdir -p $(BUILD) && touch $@

deps:
	bash tools/install-deps.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# Every object also depends on this Makefile: changed flags rebuild it.
# Header dependencies come from the compilers (-MMD -MP), see the include at
# the end.
$(BPF_OBJS): $(BUILD)/%.bpf.o: bpf/%.bpf.c Makefile | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKELS): $(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .skel.h,,$(notdir $@)) > $@.tmp && mv $@.tmp $@

# The skeletons are generated headers: order-only here so they exist before
# the first compile; the .d files then track which object includes which.
$(BUILD)/loader/%.o: loader/%.c Makefile | $(SKELS) $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/ptrig-load: $(BUILD)/loader/main.o $(LOADER_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LOADER_LIB_OBJS) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/unit $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/bpf/%.c $(LOADER_LIB_OBJS) Makefile | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/bpf $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS)

# Creates conntrack entries whose TCP windows are tracked strictly (the
# conntrack tool marks the entries it inserts liberal).
$(BUILD)/tests/test_fastpath: LDLIBS += -lnetfilter_conntrack

$(BUILD)/tests/%: tests/kernel/%.c $(LOADER_LIB_OBJS) Makefile | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LOADER_LIB_OBJS) Makefile | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/bpf $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS)

install: $(BUILD)/ptrig-load
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/ptrig-load $(DESTDIR)$(SBINDIR)/ptrig-load
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 0644 doc/ptrig-load.8 $(DESTDIR)$(MANDIR)/man8/ptrig-load.8
	sed 's|/usr/local/sbin/ptrig-load|$(SBINDIR)/ptrig-load|' deploy/systemd/ptrig.service \
		>$(DESTDIR)$(UNITDIR)/ptrig.service

clean:
	rm -rf $(BUILD)

check-root:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "error: this target needs root (BPF, network namespaces): run it with sudo" >&2; exit 1; fi

test: check-root all
	$(Q)BUILD=$(BUILD) bash tests/run-all.sh

# Every suite inside Debian kernels under qemu (tools/vm.sh), with and
# without nf_conntrack, and the verifier budget (bench/results/verifier.md).
# The guests run side by side, one per CPU (VM_JOBS).
test-kernels: check-root all
	$(Q)BUILD=$(BUILD) bash tests/kernel/test_debian61.sh --full

demo: check-root all
	$(Q)BUILD=$(BUILD) bash tools/demo.sh

# The agent's container image, from Debian packages (mmdebstrap, podman).
image: check-root $(BUILD)/ptrig-load
	$(Q)BUILD=$(BUILD) bash tools/image.sh

bench: check-root all $(BENCH_BINS) $(BUILD)/benchstat
	$(Q)BUILD=$(BUILD) bash tools/bench.sh

# The statistics and report writer of `make bench` (unit-tested by
# tests/unit/test_benchstat.c).
$(BUILD)/benchstat: tools/benchstat.c Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@

# ---- rule-file fuzzing ----
# `make fuzz` runs the parser's libFuzzer target for FUZZ_SECONDS; new inputs
# go to $(BUILD)/fuzz/corpus, the committed seeds in tests/fuzz/corpus are
# only read. `make test` replays the seeds through the same target, built by
# $(CC) with ASan and UBSan but without libFuzzer. `make fuzz-coverage` shows
# the lines of config.c that the seeds reach.
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SRCS    := tests/fuzz/fuzz_config.c loader/config.c
FUZZ_DEPS    := $(FUZZ_SRCS) loader/config.h include/ptrig.h Makefile
FUZZ_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iloader -O1 -g \
		-fno-omit-frame-pointer
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all

all: $(FUZZ_DIR)/config-replay

$(FUZZ_DIR)/config-replay: $(FUZZ_DEPS) tests/fuzz/replay.c | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FUZZ_CFLAGS) $(SAN_FLAGS) $(FUZZ_SRCS) tests/fuzz/replay.c -o $@

$(FUZZ_DIR)/config-fuzz: $(FUZZ_DEPS) | $(DEPS_STAMP)
	$(call msg,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer $(FUZZ_SRCS) -o $@

$(FUZZ_DIR)/config-cov: $(FUZZ_DEPS) tests/fuzz/replay.c | $(DEPS_STAMP)
	$(call msg,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fprofile-instr-generate -fcoverage-mapping \
		$(FUZZ_SRCS) tests/fuzz/replay.c -o $@

.PHONY: fuzz fuzz-coverage
fuzz: $(FUZZ_DIR)/config-fuzz
	$(Q)mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(Q)$< -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
		-dict=tests/fuzz/config.dict -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/ \
		$(FUZZ_DIR)/corpus tests/fuzz/corpus

fuzz-coverage: $(FUZZ_DIR)/config-cov
	$(Q)rm -rf $(FUZZ_DIR)/cov && mkdir -p $(FUZZ_DIR)/cov
	$(Q)LLVM_PROFILE_FILE=$(FUZZ_DIR)/cov/%p.profraw $< tests/fuzz/corpus >/dev/null 2>&1
	$(Q)llvm-profdata merge -sparse $(FUZZ_DIR)/cov/*.profraw -o $(FUZZ_DIR)/cov/all.profdata
	$(Q)llvm-cov report $< -instr-profile=$(FUZZ_DIR)/cov/all.profdata loader/config.c

format:
	clang-format -i bpf/*.c bpf/*.h include/*.h loader/*.c loader/*.h tools/*.c tests/unit/*.c tests/bpf/*.c tests/bpf/*.h tests/bench/*.c tests/bench/*.h tests/kernel/*.c

# Header dependencies written by -MMD (absent before the first build).
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
