// SPDX-License-Identifier: GPL-2.0
/* Fault injection knobs of the test build; see fault.h. */
#include <linux/atomic.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "fault.h"

unsigned int mbatch_fault_halt_drop;
module_param_named(fault_halt_drop, mbatch_fault_halt_drop, uint, 0644);
MODULE_PARM_DESC(fault_halt_drop,
		 "test only: drop the link instead of sending a halting result, N times");

unsigned int mbatch_fault_geom_refuse;
module_param_named(fault_geom_refuse, mbatch_fault_geom_refuse, uint, 0644);
MODULE_PARM_DESC(fault_geom_refuse,
		 "test only: a participant refuses the message of this sequence, once");

unsigned int mbatch_fault_open_delay_ms;
module_param_named(fault_open_delay_ms, mbatch_fault_open_delay_ms, uint,
		   0644);
MODULE_PARM_DESC(fault_open_delay_ms,
		 "test only: sleep in session open before publishing it");

unsigned int mbatch_fault_submit_delay_ms;
module_param_named(fault_submit_delay_ms, mbatch_fault_submit_delay_ms, uint,
		   0644);
MODULE_PARM_DESC(fault_submit_delay_ms,
		 "test only: sleep in submit between its first and last limit check");

unsigned int mbatch_fault_rx_delay_ms;
module_param_named(fault_rx_delay_ms, mbatch_fault_rx_delay_ms, uint, 0644);
MODULE_PARM_DESC(fault_rx_delay_ms,
		 "test only: a participant sleeps before queuing messages");

unsigned int mbatch_fault_r2t_ignore;
module_param_named(fault_r2t_ignore, mbatch_fault_r2t_ignore, uint, 0644);
MODULE_PARM_DESC(fault_r2t_ignore,
		 "test only: while set, an initiator ignores R2T (sends no DATA)");

unsigned int mbatch_fault_jlog_read_eio;
module_param_named(fault_jlog_read_eio, mbatch_fault_jlog_read_eio, uint,
		   0644);
MODULE_PARM_DESC(fault_jlog_read_eio,
		 "test only: the next N journal log block reads fail");

unsigned int mbatch_fault_jlog_write_eio;
module_param_named(fault_jlog_write_eio, mbatch_fault_jlog_write_eio, uint,
		   0644);
MODULE_PARM_DESC(fault_jlog_write_eio,
		 "test only: the next N journal log appends are written, then fail");

unsigned int mbatch_fault_jlog_write_lost;
module_param_named(fault_jlog_write_lost, mbatch_fault_jlog_write_lost, uint,
		   0644);
MODULE_PARM_DESC(fault_jlog_write_lost,
		 "test only: the next N journal log appends never reach the device, and fail (a power cut)");

atomic_long_t mbatch_debug_result_steps = ATOMIC_LONG_INIT(0);

static int mbatch_steps_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&mbatch_debug_result_steps));
}

static const struct kernel_param_ops mbatch_steps_ops = {
	.get = mbatch_steps_get,
};

module_param_cb(debug_result_steps, &mbatch_steps_ops, NULL, 0444);
MODULE_PARM_DESC(debug_result_steps,
		 "test only: result list nodes visited by collects and result frames");

atomic_long_t mbatch_debug_objects[__MBATCH_OBJ_MAX];

static const char * const mbatch_obj_names[__MBATCH_OBJ_MAX] = {
	[MBATCH_OBJ_QUEUE] = "queue",
	[MBATCH_OBJ_LOCAL] = "local",
	[MBATCH_OBJ_INITIATOR] = "initiator",
	[MBATCH_OBJ_PARTICIPANT] = "participant",
	[MBATCH_OBJ_COMMAND] = "command",
	[MBATCH_OBJ_PEER] = "peer",
	[MBATCH_OBJ_LINK] = "link",
	[MBATCH_OBJ_NOTE] = "note",
	[MBATCH_OBJ_REGION] = "region",
};

/* "queue=N local=N ..." */
static int mbatch_objects_get(char *buf, const struct kernel_param *kp)
{
	int i, n = 0;

	for (i = 0; i < __MBATCH_OBJ_MAX; i++)
		n += sysfs_emit_at(buf, n, "%s%s=%ld", i ? " " : "",
				   mbatch_obj_names[i],
				   atomic_long_read(&mbatch_debug_objects[i]));
	return n + sysfs_emit_at(buf, n, "\n");
}

static const struct kernel_param_ops mbatch_objects_ops = {
	.get = mbatch_objects_get,
};

module_param_cb(debug_objects, &mbatch_objects_ops, NULL, 0444);
MODULE_PARM_DESC(debug_objects, "test only: objects of each type alive");

unsigned int mbatch_plant;
module_param_named(plant, mbatch_plant, uint, 0444);
MODULE_PARM_DESC(plant,
		 "test only, at load: plant violation N (1 early checkpoint, 2 merge across a checkpoint, 3 resent run twice, 4 cancelled runs, 5 drop results, 6 duplicate results, 7 leak a peer)");

/* Consume one of @count; false when there is none. */
bool mbatch_fault_take(unsigned int *count)
{
	unsigned int old = READ_ONCE(*count);

	do {
		if (!old)
			return false;
	} while (!try_cmpxchg(count, &old, old - 1));
	return true;
}

/* Does the one-shot knob name @seq? Clears it if so. */
bool mbatch_fault_seq(unsigned int *knob, u64 seq)
{
	unsigned int want = READ_ONCE(*knob);

	return want && want == seq && try_cmpxchg(knob, &want, 0);
}
