/* SPDX-License-Identifier: GPL-2.0 */
/* mbatch: the Generic Netlink family (netlink.c). */
#ifndef _MBATCH_NETLINK_H
#define _MBATCH_NETLINK_H

#define MBATCH_MODULE_VERSION	"0.2.0"

int mbatch_genl_init(void);
void mbatch_genl_exit(void);

#endif /* _MBATCH_NETLINK_H */
