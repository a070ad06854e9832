# The VM platform (docs/vm.md): the core and the Linux shim linked with
# platform/vm into an x86-64 kernel image QEMU boots by the PVH protocol
# (qemu-system-x86_64 -kernel). They are compiled again for it: linked in
# the top 2 GiB (-mcmodel=kernel, no PIE), no red zone (a fault inside
# the kernel pushes its frame on the running stack), no SSE (the guest's
# FPU state stays in the registers through a trap), no jump tables in
# platform/vm.
VM_BASE_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude -fno-strict-aliasing \
	$(NOTLS) $(NOFPU) -ffreestanding -nostdinc -isystem $(CC_INCLUDE) \
	-fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
	$(shell $(CC) -fno-tree-loop-distribute-patterns -E -x c /dev/null \
	  >/dev/null 2>&1 && echo -fno-tree-loop-distribute-patterns)
# The core's build for this kernel: stac/clac around its guest-memory
# accessors (SMAP), string operations eight bytes per step (TCG).
VM_CORE_DEFS := -DMOAT_UACCESS_SMAP -DMOAT_STRING_QWORDS
VM_CORE_OBJS := $(patsubst %.S,$(BUILD)/vm/%.o,$(CORE_SRCS:%.c=$(BUILD)/vm/%.o)) \
	$(SHIM_SRCS:%.c=$(BUILD)/vm/%.o)
VM_PLAT_SRCS := $(sort $(wildcard platform/vm/*.c platform/vm/*.S))
VM_PLAT_OBJS := $(patsubst %.S,$(BUILD)/vm/%.o,$(VM_PLAT_SRCS:%.c=$(BUILD)/vm/%.o))

$(BUILD)/vm/core/%.o: core/%.c Makefile platform/vm/vm.mk
	@mkdir -p $(dir $@)
	$(call say,CC,$< [vm])
	$(Q)$(CC) $(VM_BASE_CFLAGS) $(VM_CORE_DEFS) -Icore -MMD -MP -c $< -o $@
$(BUILD)/vm/core/%.o: core/%.S Makefile platform/vm/vm.mk
	@mkdir -p $(dir $@)
	$(call say,AS,$< [vm])
	$(Q)$(CC) $(VM_BASE_CFLAGS) $(VM_CORE_DEFS) -Icore -MMD -MP -c $< -o $@
$(BUILD)/vm/shim/%.o: shim/%.c Makefile platform/vm/vm.mk
	@mkdir -p $(dir $@)
	$(call say,CC,$< [vm])
	$(Q)$(CC) $(VM_BASE_CFLAGS) -Icore -Ishim/linux -MMD -MP -c $< -o $@
$(BUILD)/vm/platform/vm/%.o: platform/vm/%.c Makefile platform/vm/vm.mk
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(VM_BASE_CFLAGS) -fno-jump-tables -MMD -MP -c $< -o $@
$(BUILD)/vm/platform/vm/%.o: platform/vm/%.S Makefile platform/vm/vm.mk
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(VM_BASE_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/vm/moat-vm.elf: $(VM_PLAT_OBJS) $(VM_CORE_OBJS) platform/vm/vm.ld
	$(call say,LD,$@)
	$(Q)ld -n -static --no-warn-rwx-segments -z noexecstack \
	  -T platform/vm/vm.ld -o $@ $(VM_PLAT_OBJS) $(VM_CORE_OBJS)

-include $(VM_CORE_OBJS:.o=.d) $(VM_PLAT_OBJS:.o=.d)
