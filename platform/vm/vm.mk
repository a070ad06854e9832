# The VM platform (issue 13): a freestanding x86-64 image QEMU boots by
# the PVH protocol (qemu-system-x86_64 -kernel). Its own flags: no red
# zone and no SSE (interrupts will run on the same stack), no PIC (it
# runs where it is linked, identity-mapped), no libc (loops stay loops,
# never calls to memcpy; no jump tables, which would put the ring-3
# code's switch in the kernel's .rodata).
VM_CFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fcf-protection=none -O2 -g \
	-fno-tree-loop-distribute-patterns -fno-jump-tables \
	-Wall -Wextra -Werror
VM_OBJS := $(BUILD)/vm/boot.o $(BUILD)/vm/entry.o $(BUILD)/vm/main.o

$(BUILD)/vm/%.o: platform/vm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -c $< -o $@
$(BUILD)/vm/%.o: platform/vm/%.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(BUILD)/vm/moat-vm.elf: $(VM_OBJS) platform/vm/vm.ld
	ld -n --no-warn-rwx-segments -T platform/vm/vm.ld -o $@ $(VM_OBJS)
