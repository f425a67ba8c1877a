/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: fault injection for the selftests, built only with
 * CONFIG_MBATCH_FAULTS=y (the test build; never a release build). Each
 * knob is a module parameter (/sys/module/mbatch/parameters/fault_*).
 *
 *   fault_halt_drop N      a participant drops its link instead of sending
 *                          a RESULTS frame with a halting checkpoint, N times
 *   fault_geom_refuse SEQ  a participant refuses the message with sequence
 *                          SEQ as beyond its device (-ERANGE), once
 *   fault_open_delay_ms    session open sleeps between taking an id and
 *                          publishing the session
 *   fault_rx_delay_ms      a participant sleeps before queuing each MSGS
 *                          frame
 */
#ifndef _MBATCH_FAULT_H
#define _MBATCH_FAULT_H

#include <linux/delay.h>
#include <linux/types.h>

#ifdef CONFIG_MBATCH_FAULTS
extern unsigned int mbatch_fault_halt_drop;
extern unsigned int mbatch_fault_geom_refuse;
extern unsigned int mbatch_fault_open_delay_ms;
extern unsigned int mbatch_fault_rx_delay_ms;

bool mbatch_fault_take(unsigned int *count);
bool mbatch_fault_seq(unsigned int *knob, u64 seq);

static inline void mbatch_fault_delay(unsigned int ms)
{
	if (ms)
		msleep(ms);
}
#else
#define mbatch_fault_take(count)	false
#define mbatch_fault_seq(knob, seq)	false
#define mbatch_fault_delay(ms)		do { } while (0)
#endif

#endif /* _MBATCH_FAULT_H */
