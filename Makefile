# ptrig: port triggering in eBPF. `make` builds into build/; `make test` runs
# every suite (as root); `make demo` runs the lab demo; `make bench` the benchmarks.

BUILD      ?= build
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
DESTDIR    ?=

CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iloader -I$(BUILD)
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	      -Wno-unused-parameter -Iinclude -Ivmlinux -Ibpf
LDLIBS     := -lbpf -lelf -lz -ljson-c

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
BPF_HDRS   := $(wildcard bpf/*.h) include/ptrig.h

LOADER_LIB_SRCS := $(filter-out loader/main.c,$(wildcard loader/*.c))
LOADER_LIB_OBJS := $(patsubst loader/%.c,$(BUILD)/loader/%.o,$(LOADER_LIB_SRCS))
LOADER_HDRS     := $(wildcard loader/*.h) include/ptrig.h

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
PROG_SRCS  := $(wildcard tests/bpf/test_*.c)
PROG_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(PROG_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps vmlinux install clean test demo bench format check-root
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

$(BPF_OBJS): $(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux/vmlinux.h | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKELS): $(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .skel.h,,$(notdir $@)) > $@.tmp && mv $@.tmp $@

$(BUILD)/loader/%.o: loader/%.c $(LOADER_HDRS) $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/ptrig-load: $(BUILD)/loader/main.o $(LOADER_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LOADER_LIB_OBJS) $(wildcard tests/unit/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/bpf/%.c $(SKELS) $(LOADER_LIB_OBJS) $(wildcard tests/bpf/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(SKELS) $(LOADER_LIB_OBJS) $(wildcard tests/bpf/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $< $(LOADER_LIB_OBJS) -o $@ $(LDLIBS)

install: $(BUILD)/ptrig-load
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/ptrig-load $(DESTDIR)$(SBINDIR)/ptrig-load

clean:
	rm -rf $(BUILD)

check-root:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "error: this target needs root (BPF, network namespaces): run it with sudo" >&2; exit 1; fi

test: check-root all
	$(Q)BUILD=$(BUILD) bash tests/run-all.sh

demo: check-root all
	$(Q)BUILD=$(BUILD) bash tools/demo.sh

bench: check-root all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) bash tools/bench.sh

format:
	clang-format -i bpf/*.c bpf/*.h include/*.h loader/*.c loader/*.h tests/unit/*.c tests/bpf/*.c tests/bpf/*.h tests/bench/*.c
