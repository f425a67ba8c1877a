/* SPDX-License-Identifier: GPL-2.0 */
/* mbatch: initiator sessions, this node's sessions on a peer's queue. */
#ifndef _MBATCH_INITIATOR_H
#define _MBATCH_INITIATOR_H

#include <linux/types.h>

struct mbatch_net;
struct mbatch_session;
struct netlink_ext_ack;

struct mbatch_session *mbatch_initiator_open(struct mbatch_net *mn,
					     const char *peer,
					     const char *qname, u32 flags,
					     u32 portid,
					     struct netlink_ext_ack *extack);
int mbatch_initiator_init(void);
void mbatch_initiator_exit(void);

#endif /* _MBATCH_INITIATOR_H */
