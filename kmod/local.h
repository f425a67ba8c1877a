/* SPDX-License-Identifier: GPL-2.0 */
/* mbatch: local sessions, on a queue of this node. */
#ifndef _MBATCH_LOCAL_H
#define _MBATCH_LOCAL_H

#include <linux/types.h>

struct mbatch_net;
struct mbatch_session;
struct netlink_ext_ack;

struct mbatch_session *mbatch_local_open(struct mbatch_net *mn,
					 const char *qname, u32 flags,
					 u32 portid,
					 struct netlink_ext_ack *extack);
int mbatch_local_init(void);
void mbatch_local_exit(void);

#endif /* _MBATCH_LOCAL_H */
