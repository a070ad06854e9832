/* State of one host process that it writes after every fork (locks of the
 * process's own address space, fork and reap bookkeeping). fork leaves
 * each private page shared and write-protected, so the first write to
 * each such page in either process is a copy-on-write fault, which costs
 * several microseconds in a VM. Variables marked MOAT_PROCESS_HOT share
 * one section, which the link puts at the start of a page of its own and
 * checks is no larger than a page (cmd/moat/hot.ld), so a fork costs each
 * process one such fault for all of them instead of one per scattered
 * page. Keep the set small. */
#ifndef MOAT_HOT_H
#define MOAT_HOT_H

#define MOAT_PROCESS_HOT __attribute__((section("moat_hot")))

#endif
