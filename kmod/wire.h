/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: helpers for the frames of <linux/mbatch_wire.h>, shared by the
 * initiator and the participant: status codes, credit units, messages.
 */
#ifndef _MBATCH_WIRE_H
#define _MBATCH_WIRE_H

#include <linux/types.h>
#include <linux/mbatch_wire.h>

struct mbatch_msg;

u32 mbatch_inline_max(void);
u16 mbatch_wire_status(int err);
int mbatch_wire_errno(u16 status);
u64 mbatch_wire_units(u32 op, u32 len, bool pull);
const char *mbatch_wire_msg_decode(const void *payload, u32 len, u32 *off,
				   struct mbatch_msg *m);

static inline u32 mbatch_wire_pad(u32 len)
{
	return round_up(len, MBATCH_WIRE_ALIGN);
}

#endif /* _MBATCH_WIRE_H */
