/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbatch: registered regions. A caller registers a range of its memory; its
 * pages are pinned long-term once, and READ and WRITE messages name (region,
 * offset) instead of carrying their payload, a proxy: bios are built on the
 * region's pages. A region belongs to the socket, namespace and mm that
 * registered it. Commands hold references, so its pages stay pinned until
 * the last command that uses them has completed.
 */
#ifndef _MBATCH_REGION_H
#define _MBATCH_REGION_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct mbatch_net;
struct mm_struct;
struct page;
struct user_struct;

struct mbatch_region {
	struct kref ref;		/* the table's, and one per command */
	u32 id;
	u32 portid;			/* the socket that registered it */
	u32 flags;			/* MBATCH_REGION_F_* */
	u64 addr;
	u64 len;
	unsigned long nr_pages;
	struct page **pages;		/* pinned, FOLL_LONGTERM */
	struct mm_struct *mm;		/* grabbed: its owner, pinned_vm */
	struct user_struct *user;	/* locked_vm charged, or NULL */
	atomic_t users;			/* commands using it */
	struct work_struct free_work;
};

/* Why a region cannot be had, for the extack. */
enum mbatch_region_field {
	MBATCH_RF_ADDR,			/* the address (or the memory there) */
	MBATCH_RF_LEN,
	MBATCH_RF_NONE,			/* a limit, or memory */
};

struct mbatch_region_fault {
	const char *text;
	int err;
	enum mbatch_region_field field;
};

struct mbatch_region *mbatch_region_new(struct mbatch_net *mn, u32 portid,
					u64 addr, u64 len, u32 flags,
					struct mbatch_region_fault *f);
int mbatch_region_del(struct mbatch_net *mn, u32 id, u32 portid,
		      struct mbatch_region_fault *f);
struct mbatch_region *mbatch_region_get(struct mbatch_net *mn, u32 id);
struct mbatch_region *mbatch_region_use(struct mbatch_net *mn, u32 id,
					u32 portid,
					struct mbatch_region_fault *f);
struct mbatch_region *mbatch_region_next(struct mbatch_net *mn,
					 unsigned long *index);
void mbatch_region_put(struct mbatch_region *r);
void mbatch_region_hold(struct mbatch_region *r);
void mbatch_region_unhold(struct mbatch_region *r);
void mbatch_regions_release_portid(struct mbatch_net *mn, u32 portid);
void mbatch_regions_flush(struct mbatch_net *mn);
int mbatch_region_init(void);
void mbatch_region_exit(void);

#endif /* _MBATCH_REGION_H */
