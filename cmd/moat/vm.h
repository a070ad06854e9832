/* `moat run --platform vm`: the VM platform's runner (cmd/moat/vm.c). */
#ifndef MOAT_CMD_VM_H
#define MOAT_CMD_VM_H

#include "options.h"

/* Build the initrd (header and root image) o describes, run the VM
 * kernel under QEMU on it, relay the standard streams, and return the
 * sandbox's exit status (125 and one "moat: ..." line on an error of
 * moat's; docs/vm.md, "Running a program in the VM"). */
int vm_main(const struct run_options *o);

/* KVM here is the CPU's own (not kvm_pvm) and /dev/kvm opens. */
bool vm_kvm_usable(void);

#endif
