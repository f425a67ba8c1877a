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
 *   fault_submit_delay_ms  a submit sleeps between its first limit check
 *                          and the one it queues under
 *   fault_rx_delay_ms      a participant sleeps before queuing each MSGS
 *                          frame
 *   fault_jlog_read_eio N  the next N reads of a journal log block fail
 *   fault_jlog_write_eio N the next N log appends are written and then
 *                          reported failed (-EIO): on the device, not known
 *
 * counters, read only: debug_result_steps, the result list nodes collects
 * and result frames have visited (they must be O(results)), and
 * debug_objects, the objects of each type alive (every test must leave
 * none);
 *
 * and planted violations, one at a time, set at load (plant=N): each breaks
 * one promise so that the harness proves its tests catch it (tools/vm).
 */
#ifndef _MBATCH_FAULT_H
#define _MBATCH_FAULT_H

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/types.h>

/* Objects counted by debug_objects. */
enum mbatch_obj {
	MBATCH_OBJ_QUEUE,
	MBATCH_OBJ_LOCAL,
	MBATCH_OBJ_INITIATOR,
	MBATCH_OBJ_PARTICIPANT,
	MBATCH_OBJ_COMMAND,
	MBATCH_OBJ_PEER,
	MBATCH_OBJ_LINK,
	MBATCH_OBJ_NOTE,
	MBATCH_OBJ_REGION,
	__MBATCH_OBJ_MAX,
};

/* Planted violations (plant=N). */
enum mbatch_plant {
	MBATCH_PLANT_NONE,
	MBATCH_PLANT_CP_EARLY,		/* a checkpoint before its epoch ended */
	MBATCH_PLANT_MERGE_CP,		/* the next epoch runs with this one */
	MBATCH_PLANT_RESEND_TWICE,	/* a resent message runs again */
	MBATCH_PLANT_RUN_CANCELLED,	/* a cancelled command runs */
	MBATCH_PLANT_DROP_RESULT,	/* every 10th result is lost */
	MBATCH_PLANT_DUP_RESULT,	/* a collect delivers a result twice */
	MBATCH_PLANT_LEAK,		/* a deleted peer is never freed */
	__MBATCH_PLANT_MAX,
};

#ifdef CONFIG_MBATCH_FAULTS
extern unsigned int mbatch_fault_halt_drop;
extern unsigned int mbatch_fault_geom_refuse;
extern unsigned int mbatch_fault_open_delay_ms;
extern unsigned int mbatch_fault_submit_delay_ms;
extern unsigned int mbatch_fault_rx_delay_ms;
extern unsigned int mbatch_fault_r2t_ignore;
extern unsigned int mbatch_fault_jlog_read_eio;
extern unsigned int mbatch_fault_jlog_write_eio;
extern unsigned int mbatch_fault_jlog_write_lost;

extern atomic_long_t mbatch_debug_result_steps;
extern atomic_long_t mbatch_debug_objects[__MBATCH_OBJ_MAX];
extern unsigned int mbatch_plant;

bool mbatch_fault_take(unsigned int *count);
bool mbatch_fault_seq(unsigned int *knob, u64 seq);

#define mbatch_fault_on(knob)		(READ_ONCE(knob) != 0)

static inline void mbatch_fault_delay(unsigned int ms)
{
	if (ms)
		msleep(ms);
}

static inline void mbatch_debug_step(void)
{
	atomic_long_inc(&mbatch_debug_result_steps);
}

static inline void mbatch_obj_new(enum mbatch_obj type)
{
	atomic_long_inc(&mbatch_debug_objects[type]);
}

static inline void mbatch_obj_gone(enum mbatch_obj type)
{
	atomic_long_dec(&mbatch_debug_objects[type]);
}

static inline bool mbatch_planted(enum mbatch_plant plant)
{
	return READ_ONCE(mbatch_plant) == plant;
}
#else
#define mbatch_fault_take(count)	false
#define mbatch_fault_seq(knob, seq)	false
#define mbatch_fault_delay(ms)		do { } while (0)
#define mbatch_fault_on(knob)		false
#define mbatch_debug_step()		do { } while (0)
#define mbatch_obj_new(type)		do { } while (0)
#define mbatch_obj_gone(type)		do { } while (0)
#define mbatch_planted(plant)		false
#endif

#endif /* _MBATCH_FAULT_H */
