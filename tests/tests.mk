# Test artifacts, included by the top Makefile. `make tests` builds them all;
# `make test` builds them and runs tests/run.py.
#
#   $(BUILD)/unit/moat-unit     core unit tests (Check) on the test platform,
#                               hosted, under ASan and UBSan
#   $(BUILD)/unit/moat-unit-heap  the same over libc's malloc (ASan sees
#                               every kernel object; one-process suites)
#   $(BUILD)/fuzz/moat-fuzz     mutated ELF and tar images through the loaders,
#                               under ASan and UBSan
#   $(BUILD)/guest/glibc/NAME   tests/guest/NAME.c, gcc -static
#   $(BUILD)/guest/musl/NAME    the same, musl-gcc -static
#   $(BUILD)/security/NAME      tests/security/NAME.c, gcc -static

SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
# The core is compiled hosted here: libc provides memcpy and friends, so
# core/rt_mem.c stays out. Warnings are not errors for other people's code
# in this configuration; the real build checks that.
TEST_HOSTED := -std=gnu11 -O1 -g -fno-omit-frame-pointer -D_GNU_SOURCE \
	-DMOAT_LOCK_DEBUG -Iinclude $(SANITIZE)
TEST_WARN := -Wall -Wextra -Werror -Wno-unused-parameter

ASAN_CORE_OBJS := $(patsubst %.S,$(BUILD)/asan/%.o,\
	$(patsubst %.c,$(BUILD)/asan/%.o,$(filter-out core/rt_mem.c,$(CORE_SRCS))))
ASAN_SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/asan/%.o)
UNIT_SRCS := $(filter-out tests/unit/tarbuild.c tests/unit/test_platform.c \
	tests/unit/net_broker.c tests/unit/wait_signals.c \
	tests/unit/oci_supervisor.c,\
	$(sort $(wildcard tests/unit/*.c)))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/asan/%.o)
TESTPLAT_OBJS := $(BUILD)/asan/tests/unit/test_platform.o \
	$(BUILD)/asan/tests/unit/tarbuild.o

$(BUILD)/asan/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_HOSTED) -Wall -Wextra -Wno-unused-parameter -Icore \
		-MMD -MP -c $< -o $@
$(BUILD)/asan/core/%.o: core/%.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(BUILD)/asan/shim/%.o: shim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_HOSTED) -Wall -Wextra -Wno-unused-parameter -Icore \
		-Ishim/linux -MMD -MP -c $< -o $@
$(BUILD)/asan/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_HOSTED) $(TEST_WARN) -Icore -Ishim/linux -Itests/unit \
		$(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/unit/moat-unit: $(UNIT_OBJS) $(TESTPLAT_OBJS) $(ASAN_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -o $@ $^ $(CHECK_LIBS)

# The same tests over a core whose kmalloc is libc's malloc
# (MOAT_TEST_LIBC_HEAP), so that ASan sees every kernel object: a use
# after free inside the arena is invisible to it. Nothing is shared
# between forked processes then, so tests/run.py runs only the suites that
# stay in one process with it (the concurrent suite's threads).
HEAP_CORE_OBJS := $(ASAN_CORE_OBJS:$(BUILD)/asan/%=$(BUILD)/asan-heap/%)
$(BUILD)/asan-heap/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_HOSTED) -DMOAT_TEST_LIBC_HEAP -Wall -Wextra \
		-Wno-unused-parameter -Icore -MMD -MP -c $< -o $@
$(BUILD)/asan-heap/core/%.o: core/%.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(BUILD)/unit/moat-unit-heap: $(UNIT_OBJS) $(TESTPLAT_OBJS) $(HEAP_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -o $@ $^ $(CHECK_LIBS)

$(BUILD)/fuzz/moat-fuzz: $(BUILD)/asan/tests/fuzz/fuzz.o $(TESTPLAT_OBJS) \
		$(ASAN_CORE_OBJS) $(ASAN_SHIM_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -o $@ $^

# The Linux platform's plat_net_* and the network broker, end to end on
# the host (tests/unit/net_broker.c): the platform's own objects.
$(BUILD)/unit/net-broker: tests/unit/net_broker.c \
		$(BUILD)/platform/linux/net.o $(BUILD)/platform/linux/broker.o \
		$(BUILD)/platform/linux/wait.o \
		$(BUILD)/platform/linux/gate.o
	@mkdir -p $(dir $@)
	$(CC) $(HOSTED) -Iplatform/linux -o $@ $^ $(LIBS)

# The Linux platform's plat_wait and plat_wake, their signals counted on
# the host (tests/unit/wait_signals.c).
$(BUILD)/unit/wait-signals: tests/unit/wait_signals.c \
		$(BUILD)/platform/linux/net.o $(BUILD)/platform/linux/broker.o \
		$(BUILD)/platform/linux/wait.o \
		$(BUILD)/platform/linux/gate.o
	@mkdir -p $(dir $@)
	$(CC) $(HOSTED) -Iplatform/linux -o $@ $^ $(LIBS)

# An OCI container's supervisor loop (cmd/moat/supervisor.c, compiled in)
# attacked from the sandbox's side of its channel and from its clients
# (tests/unit/oci_supervisor.c), under ASan and UBSan.
$(BUILD)/unit/oci-supervisor: tests/unit/oci_supervisor.c \
		cmd/moat/supervisor.c cmd/moat/supervisor.h cmd/moat/control.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_HOSTED) $(TEST_WARN) -Icmd/moat -o $@ \
		tests/unit/oci_supervisor.c cmd/moat/supervisor.c

# ---- programs that run inside moat -------------------------------------
GUEST_CC ?= gcc
MUSL_CC := $(shell command -v musl-gcc 2>/dev/null)
GUEST_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
	-Itests/guest
GUEST_NAMES := $(basename $(notdir $(wildcard tests/guest/*.c)))
SECURITY_NAMES := $(basename $(notdir $(wildcard tests/security/*.c)))
GUEST_GLIBC := $(GUEST_NAMES:%=$(BUILD)/guest/glibc/%)
GUEST_MUSL := $(if $(MUSL_CC),$(GUEST_NAMES:%=$(BUILD)/guest/musl/%))
SECURITY_BINS := $(SECURITY_NAMES:%=$(BUILD)/security/%)

$(BUILD)/guest/glibc/%: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) -static $(GUEST_CFLAGS) -o $@ $<
$(BUILD)/guest/musl/%: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	$(MUSL_CC) -static $(GUEST_CFLAGS) -o $@ $<
$(BUILD)/security/%: tests/security/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) -static $(GUEST_CFLAGS) -o $@ $<
# The fuzz harness's seed ELF: small, static, at a fixed address (ET_EXEC).
$(BUILD)/fuzz/seed-elf: tests/fuzz/seed.c
	@mkdir -p $(dir $@)
	$(if $(MUSL_CC),$(MUSL_CC),$(GUEST_CC)) -static -no-pie -Os -o $@ $<

.PHONY: tests
tests: $(BUILD)/unit/moat-unit $(BUILD)/unit/moat-unit-heap \
	$(BUILD)/unit/net-broker $(BUILD)/unit/wait-signals \
	$(BUILD)/unit/oci-supervisor \
	$(BUILD)/fuzz/moat-fuzz $(BUILD)/fuzz/seed-elf \
	$(BUILD)/vm/moat-vm.elf \
	$(GUEST_GLIBC) $(GUEST_MUSL) $(SECURITY_BINS)
