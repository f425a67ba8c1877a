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
 *
 * and one counter, read only: debug_result_steps, the result list nodes
 * collects and result frames have visited (they must be O(results)).
 */
#ifndef _MBATCH_FAULT_H
#define _MBATCH_FAULT_H

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/types.h>

#ifdef CONFIG_MBATCH_FAULTS
extern unsigned int mbatch_fault_halt_drop;
extern unsigned int mbatch_fault_geom_refuse;
extern unsigned int mbatch_fault_open_delay_ms;
extern unsigned int mbatch_fault_rx_delay_ms;

extern atomic_long_t mbatch_debug_result_steps;

bool mbatch_fault_take(unsigned int *count);
bool mbatch_fault_seq(unsigned int *knob, u64 seq);

static inline void mbatch_fault_delay(unsigned int ms)
{
	if (ms)
		msleep(ms);
}

static inline void mbatch_debug_step(void)
{
	atomic_long_inc(&mbatch_debug_result_steps);
}
#else
#define mbatch_fault_take(count)	false
#define mbatch_fault_seq(knob, seq)	false
#define mbatch_fault_delay(ms)		do { } while (0)
#define mbatch_debug_step()		do { } while (0)
#endif

#endif /* _MBATCH_FAULT_H */
