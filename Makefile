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
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps vmlinux install clean test demo bench format check-root image
all: $(BUILD)/ptrig-load $(UNIT_BINS) $(PROG_BINS)

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

demo: check-root all
	$(Q)BUILD=$(BUILD) bash tools/demo.sh

# The agent's container image, from Debian packages (mmdebstrap, podman).
image: check-root $(BUILD)/ptrig-load
	$(Q)BUILD=$(BUILD) bash tools/image.sh

bench: check-root all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) bash tools/bench.sh

format:
	clang-format -i bpf/*.c bpf/*.h include/*.h loader/*.c loader/*.h tests/unit/*.c tests/bpf/*.c tests/bpf/*.h tests/bench/*.c

# Header dependencies written by -MMD (absent before the first build).
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
