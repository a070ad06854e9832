# moat: build with GNU Make, out of tree in $(BUILD).
#   make            build/moat, build/libmoat.a and build/vm/moat-vm.elf (the
#                   VM platform's kernel, docs/vm.md)
#   make test       build everything and run the whole test suite
#   make CC=clang   the same with clang
# The core and the North shims are freestanding (no libc, no host headers);
# the South platform and the runner are host code.

BUILD ?= build
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

CC_INCLUDE := $(shell $(CC) -print-file-name=include)
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
COMMON := -std=gnu11 -O2 -g $(WARN) -Iinclude -fno-strict-aliasing -fPIE
# Nothing that runs after the guest starts may touch the fs segment (it is
# the guest's thread pointer): no stack protector anywhere in the runtime.
NOTLS := -fno-stack-protector -fcf-protection=none -fno-omit-frame-pointer
# Nothing of the library OS uses the FPU, MMX or SSE/AVX registers: they
# hold the guest's state through a whole system call, which the fast path
# then never saves or restores unless a signal frame needs it (fast.S).
NOFPU := -mno-80387 -mno-mmx -mno-sse
# The platform is hosted C: without this gcc turns a counting loop into a
# call of libc's strlen, whose AVX code would use the guest's registers.
PLATFLAGS := $(NOFPU) $(shell $(CC) -fno-tree-loop-distribute-patterns \
	-E -x c /dev/null >/dev/null 2>&1 && echo -fno-tree-loop-distribute-patterns)
FREESTANDING := $(COMMON) $(NOTLS) $(NOFPU) -ffreestanding -nostdinc -isystem $(CC_INCLUDE) -Icore
HOSTED := $(COMMON) $(NOTLS) -D_GNU_SOURCE

CORE_SRCS := $(sort $(wildcard core/*.c core/*/*.c core/*.S))
SHIM_SRCS := $(sort $(wildcard shim/linux/*.c))
PLAT_SRCS := $(sort $(wildcard platform/linux/*.c platform/linux/*.S))
CMD_SRCS := $(sort $(wildcard cmd/moat/*.c))

CORE_OBJS := $(patsubst %.S,$(BUILD)/%.o,$(CORE_SRCS:%.c=$(BUILD)/%.o))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/%.o)
PLAT_OBJS := $(patsubst %.S,$(BUILD)/%.o,$(PLAT_SRCS:%.c=$(BUILD)/%.o))
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)

LIBS := -lseccomp -ljson-c

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1) $(2)"
endif

.PHONY: all test clean format format-check check-freestanding docs bench bench-vm
all: $(BUILD)/moat $(BUILD)/libmoat.a $(BUILD)/vm/moat-vm.elf check-freestanding

$(BUILD)/core/%.o: core/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(FREESTANDING) -MMD -MP -c $< -o $@
$(BUILD)/core/%.o: core/%.S Makefile
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(FREESTANDING) -MMD -MP -c $< -o $@
$(BUILD)/shim/%.o: shim/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(FREESTANDING) -Ishim/linux -MMD -MP -c $< -o $@
$(BUILD)/platform/%.o: platform/%.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(HOSTED) $(PLATFLAGS) -Iplatform/linux -MMD -MP -c $< -o $@
$(BUILD)/platform/%.o: platform/%.S Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(HOSTED) -MMD -MP -c $< -o $@
$(BUILD)/cmd/%.o: cmd/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(HOSTED) -Iplatform/linux -MMD -MP -c $< -o $@

$(BUILD)/libmoat.a: $(CORE_OBJS) $(SHIM_OBJS) $(PLAT_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/moat: $(CMD_OBJS) $(BUILD)/libmoat.a cmd/moat/hot.ld
	$(call say,LD,$@)
	$(Q)$(CC) -pie -Wl,-T,cmd/moat/hot.ld -o $@ $(CMD_OBJS) $(BUILD)/libmoat.a $(LIBS)

# The core and the Linux shim linked together may leave undefined only the
# functions include/moat/platform.h declares (the South contract), by
# name: anything else would be a hidden host or platform dependency
# (tools/check_boundary.sh; tests/run.py's build/contract-boundary shows
# it refuses a call outside).
check-freestanding: $(BUILD)/freestanding.ok
$(BUILD)/freestanding.ok: $(CORE_OBJS) $(SHIM_OBJS) include/moat/platform.h \
		tools/check_boundary.sh
	$(Q)tools/check_boundary.sh include/moat/platform.h \
		$(BUILD)/north-core.o $(CORE_OBJS) $(SHIM_OBJS)
	@touch $@

# ---- tests -------------------------------------------------------------
include platform/vm/vm.mk
include tests/tests.mk

test: all tests
	python3 tests/run.py --build $(BUILD)

# ---- benchmarks --------------------------------------------------------
# `make bench`: every benchmark natively, in moat and (when installed) in
# runsc and proot, one table (bench/README.md). RUNS=N, BENCH_ONLY=a,b.
# Then `make bench-vm`'s table: the VM platform (TCG, and KVM when the CPU's
# own is there) beside the Linux platform and native (bench/vm.py; needs
# qemu-system-x86_64). Never part of `make test`.
BENCH_PROGS := syscall forkwait pingpong micro mutex launch
BENCH_BINS := $(BENCH_PROGS:%=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c bench/bench.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) -O2 $(WARN) -static -o $@ $< -lpthread
bench: $(BUILD)/moat $(BENCH_BINS) $(BUILD)/vm/moat-vm.elf
	/usr/bin/python3 bench/bench.py $(BUILD)
	/usr/bin/python3 bench/vm.py $(BUILD)
bench-vm: $(BUILD)/moat $(BENCH_BINS) $(BUILD)/vm/moat-vm.elf
	/usr/bin/python3 bench/vm.py $(BUILD)

# ---- docs and style ----------------------------------------------------
docs: docs/syscalls.md
docs/syscalls.md: shim/linux/syscall_table.h tools/gen_syscall_doc.py
	python3 tools/gen_syscall_doc.py shim/linux/syscall_table.h > $@

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
