// SPDX-License-Identifier: GPL-2.0
/*
 * Commands: the one message validator (for netlink requests and for frames
 * from a peer alike), and a command's allocation and payload pages.
 */
#include <linux/highmem.h>
#include <linux/slab.h>

#include "cmd.h"
#include "fault.h"
#include "region.h"

static struct kmem_cache *mbatch_cmd_cache;

static bool mbatch_msg_fail(struct mbatch_msg_fault *f, const char *text,
			    int err, enum mbatch_msg_field field)
{
	f->text = text;
	f->err = err;
	f->field = field;
	f->missing = false;
	f->geometry = false;
	return false;
}

static bool mbatch_msg_missing(struct mbatch_msg_fault *f, const char *text,
			       enum mbatch_msg_field field)
{
	mbatch_msg_fail(f, text, -EINVAL, field);
	f->missing = true;
	return false;
}

static bool mbatch_msg_geometry(struct mbatch_msg_fault *f, const char *text,
				int err, enum mbatch_msg_field field)
{
	mbatch_msg_fail(f, text, err, field);
	f->geometry = true;
	return false;
}

/*
 * Check one message. True if it may be queued; else @f says why, which
 * field, and whether the message is well formed but does not fit the device
 * (a geometry fault: a peer's message then completes with f->err, since the
 * initiator checked it against a geometry that has changed since).
 */
bool mbatch_msg_check(const struct mbatch_msg *m, const struct mbatch_geom *g,
		      struct mbatch_msg_fault *f)
{
	bool rw = mbatch_op_has_payload(m->op);

	if (m->op < MBATCH_OP_READ || m->op > MBATCH_OP_MAX)
		return mbatch_msg_fail(f, "unknown message op", -EINVAL,
				       MBATCH_MF_OP);
	if (m->flags & ~MBATCH_MSG_F_ALL)
		return mbatch_msg_fail(f, "unknown message flags", -EINVAL,
				       MBATCH_MF_FLAGS);
	if (m->flags && m->op != MBATCH_OP_CHECKPOINT)
		return mbatch_msg_fail(f, "flags are only valid on a checkpoint",
				       -EINVAL, MBATCH_MF_FLAGS);
	if ((m->present & MBATCH_MSG_HAS_DATA) && m->op != MBATCH_OP_WRITE)
		return mbatch_msg_fail(f, "only a write carries data", -EINVAL,
				       MBATCH_MF_DATA);
	if (m->present & (MBATCH_MSG_HAS_REGION | MBATCH_MSG_HAS_ROFF)) {
		if (!rw)
			return mbatch_msg_fail(f,
					       "only a read or write takes a region",
					       -EINVAL, MBATCH_MF_REGION);
		if (!(m->present & MBATCH_MSG_HAS_REGION))
			return mbatch_msg_missing(f, "a region offset needs a region",
						  MBATCH_MF_REGION);
		if (!(m->present & MBATCH_MSG_HAS_ROFF))
			return mbatch_msg_missing(f, "a region needs an offset",
						  MBATCH_MF_REGION_OFFSET);
		if (m->present & MBATCH_MSG_HAS_DATA)
			return mbatch_msg_fail(f,
					       "a message carries data or a region, not both",
					       -EINVAL, MBATCH_MF_DATA);
	}

	if (!mbatch_op_has_range(m->op)) {
		if (m->present & (MBATCH_MSG_HAS_OFFSET | MBATCH_MSG_HAS_LEN))
			return mbatch_msg_fail(f,
					       "flush and checkpoint take no offset or length",
					       -EINVAL,
					       (m->present & MBATCH_MSG_HAS_OFFSET) ?
					       MBATCH_MF_OFFSET : MBATCH_MF_LEN);
		return true;
	}

	if (!(m->present & MBATCH_MSG_HAS_OFFSET))
		return mbatch_msg_missing(f, "message has no offset",
					  MBATCH_MF_OFFSET);
	if (!(m->present & MBATCH_MSG_HAS_LEN))
		return mbatch_msg_missing(f, "message has no length",
					  MBATCH_MF_LEN);
	if (!m->len)
		return mbatch_msg_fail(f, "length must not be zero", -EINVAL,
				       MBATCH_MF_LEN);
	if (rw && !m->region && m->len > g->max_io)
		return mbatch_msg_fail(f, "length exceeds the read/write maximum",
				       -EINVAL, MBATCH_MF_LEN);
	if (rw && m->region && m->len > g->max_proxy_io)
		return mbatch_msg_fail(f,
				       "length exceeds the proxied read/write maximum",
				       -EINVAL, MBATCH_MF_LEN);
	if (!rw && m->len > MBATCH_MAX_ZERO_LEN)
		return mbatch_msg_fail(f,
				       "length exceeds the discard/write-zeroes maximum",
				       -EINVAL, MBATCH_MF_LEN);
	if (m->region) {
		if (m->roff > m->region->len ||
		    m->len > m->region->len - m->roff)
			return mbatch_msg_fail(f,
					       "payload is beyond the end of the region",
					       -ERANGE, MBATCH_MF_REGION_OFFSET);
		if (m->op == MBATCH_OP_READ &&
		    (m->region->flags & MBATCH_REGION_F_READONLY))
			return mbatch_msg_fail(f, "region is read-only", -EACCES,
					       MBATCH_MF_REGION);
		if (!IS_ALIGNED(m->roff, g->proxy_align))
			return mbatch_msg_fail(f,
					       "region offset is not aligned for the device",
					       -EINVAL, MBATCH_MF_REGION_OFFSET);
	} else if (m->op == MBATCH_OP_WRITE && !m->pull) {
		if (!(m->present & MBATCH_MSG_HAS_DATA))
			return mbatch_msg_missing(f, "a write needs data",
						  MBATCH_MF_DATA);
		if (m->data_len != m->len)
			return mbatch_msg_fail(f,
					       "data length does not match the length",
					       -EINVAL, MBATCH_MF_DATA);
	}

	/* Well formed: does it fit this device? */
	if (!IS_ALIGNED(m->offset, g->lbs))
		return mbatch_msg_geometry(f,
					   "offset is not aligned to the logical block size",
					   -EINVAL, MBATCH_MF_OFFSET);
	if (!IS_ALIGNED(m->len, g->lbs))
		return mbatch_msg_geometry(f,
					   "length is not aligned to the logical block size",
					   -EINVAL, MBATCH_MF_LEN);
	if (m->offset >= g->capacity || m->len > g->capacity - m->offset)
		return mbatch_msg_geometry(f, "range is beyond the end of the device",
					   -ERANGE, MBATCH_MF_OFFSET);
	if (m->op == MBATCH_OP_DISCARD && !g->discard)
		return mbatch_msg_geometry(f, "the device does not support discard",
					   -EOPNOTSUPP, MBATCH_MF_OP);
	return true;
}

/* Bytes of memory a message's payload holds here: whole pages, or none. */
u64 mbatch_msg_charge(const struct mbatch_msg *m)
{
	if (!mbatch_op_has_payload(m->op) || m->refused || m->region ||
	    m->pull)
		return 0;
	return round_up((u64)m->len, PAGE_SIZE);
}

u64 mbatch_cmd_charge(const struct mbatch_command *cmd)
{
	return (u64)cmd->nr_pages << PAGE_SHIFT;
}

void mbatch_cmd_free_pages(struct mbatch_command *cmd)
{
	unsigned int i;

	if (cmd->iflags & MBATCH_CMD_F_PVEC) {
		mbatch_pages_free(cmd->pv, (u32)cmd->nr_pages << PAGE_SHIFT);
		cmd->iflags &= ~MBATCH_CMD_F_PVEC;
	}
	for (i = 0; i < cmd->nr_pages && cmd->pv == cmd->pages; i++)
		__free_page(cmd->pages[i]);
	cmd->nr_pages = 0;
	if (cmd->region) {
		mbatch_region_unhold(cmd->region);
		cmd->region = NULL;
	}
	cmd->pv = NULL;
	cmd->nr_vecs = 0;
}

/* The parser's references to the regions of a batch. */
void mbatch_msgs_release(struct mbatch_msg *msgs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (msgs[i].region)
			mbatch_region_put(msgs[i].region);
}

void mbatch_cmd_free(struct mbatch_command *cmd)
{
	mbatch_cmd_free_pages(cmd);
	mbatch_obj_gone(MBATCH_OBJ_COMMAND);
	kmem_cache_free(mbatch_cmd_cache, cmd);
}

void mbatch_cmd_free_list(struct list_head *list)
{
	struct mbatch_command *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, list, node) {
		list_del(&cmd->node);
		mbatch_cmd_free(cmd);
	}
}

/* The payload to and from a flat buffer of cmd->len bytes. */
void mbatch_cmd_copy_in(struct mbatch_command *cmd, const void *buf)
{
	u32 done, at, off, n;

	for (done = 0; done < cmd->len; done += n) {
		at = cmd->pv_off + done;
		off = offset_in_page(at);
		n = min_t(u32, cmd->len - done, PAGE_SIZE - off);
		memcpy_to_page(cmd->pv[at >> PAGE_SHIFT], off, buf + done, n);
	}
}

void mbatch_cmd_copy_out(void *buf, const struct mbatch_command *cmd)
{
	u32 done, at, off, n;

	for (done = 0; done < cmd->len; done += n) {
		at = cmd->pv_off + done;
		off = offset_in_page(at);
		n = min_t(u32, cmd->len - done, PAGE_SIZE - off);
		memcpy_from_page(buf + done, cmd->pv[at >> PAGE_SHIFT], off, n);
	}
}

/*
 * A vector of fresh pages for @len bytes of payload, holding @data if it is
 * not NULL; NULL when out of memory. Freed by mbatch_pages_free().
 */
struct page **mbatch_pages_alloc(u32 len, const void *data)
{
	unsigned int i, n = DIV_ROUND_UP(len, PAGE_SIZE);
	struct page **pv;

	pv = kvcalloc(n, sizeof(*pv), GFP_KERNEL);
	if (!pv)
		return NULL;
	for (i = 0; i < n; i++) {
		pv[i] = alloc_page(GFP_KERNEL);
		if (!pv[i]) {
			mbatch_pages_free(pv, len);
			return NULL;
		}
		if (data)
			memcpy_to_page(pv[i], 0, data + i * PAGE_SIZE,
				       min_t(u32, PAGE_SIZE,
					     len - i * PAGE_SIZE));
	}
	return pv;
}

void mbatch_pages_free(struct page **pv, u32 len)
{
	unsigned int i, n = DIV_ROUND_UP(len, PAGE_SIZE);

	for (i = 0; i < n && pv[i]; i++)
		__free_page(pv[i]);
	kvfree(pv);
}

/* A command without pages takes over a vector of cmd->len bytes. */
void mbatch_cmd_attach_pages(struct mbatch_command *cmd, struct page **pv)
{
	cmd->pv = pv;
	cmd->pv_off = 0;
	cmd->nr_pages = DIV_ROUND_UP(cmd->len, PAGE_SIZE);
	cmd->nr_vecs = cmd->nr_pages;
	cmd->iflags |= MBATCH_CMD_F_PVEC;
}

/* A command for a checked message; READ and WRITE get their pages. */
struct mbatch_command *mbatch_cmd_alloc(const struct mbatch_msg *m)
{
	struct mbatch_command *cmd;
	unsigned int i, n;

	cmd = kmem_cache_zalloc(mbatch_cmd_cache, GFP_KERNEL);
	if (!cmd)
		return NULL;
	mbatch_obj_new(MBATCH_OBJ_COMMAND);
	INIT_LIST_HEAD(&cmd->node);
	RB_CLEAR_NODE(&cmd->rb);
	cmd->tag = m->tag;
	cmd->op = m->op;
	cmd->flags = m->flags;
	cmd->offset = m->offset;
	cmd->len = m->len;
	cmd->refused = m->refused;
	if (!mbatch_op_has_payload(m->op) || m->refused)
		return cmd;

	if (m->region) {
		/* Checked by the validator; a READ must never write there. */
		if (WARN_ON_ONCE(m->op == MBATCH_OP_READ &&
				 (m->region->flags & MBATCH_REGION_F_READONLY))) {
			cmd->refused = -EACCES;
			return cmd;
		}
		/* A proxy: the region's pages, held until it completes. */
		mbatch_region_hold(m->region);
		cmd->region = m->region;
		cmd->pv = m->region->pages + (m->roff >> PAGE_SHIFT);
		cmd->pv_off = offset_in_page(m->roff);
		cmd->nr_vecs = DIV_ROUND_UP(cmd->pv_off + m->len, PAGE_SIZE);
		cmd->rflags = MBATCH_RESULT_F_PROXIED;
		return cmd;
	}
	if (m->pull) {
		/* A peer's WRITE: its pages come with its data (DATA). */
		cmd->iflags = MBATCH_CMD_F_PULL;
		return cmd;
	}
	n = DIV_ROUND_UP(m->len, PAGE_SIZE);
	if (n > MBATCH_CMD_PAGES) {
		/* A peer's large READ (or WRITE, its data inline). */
		struct page **pv = mbatch_pages_alloc(m->len,
						      m->op == MBATCH_OP_WRITE ?
						      m->data : NULL);

		if (!pv) {
			mbatch_cmd_free(cmd);
			return NULL;
		}
		mbatch_cmd_attach_pages(cmd, pv);
		return cmd;
	}
	cmd->pv = cmd->pages;
	for (i = 0; i < n; i++) {
		cmd->pages[i] = alloc_page(GFP_KERNEL);
		if (!cmd->pages[i]) {
			mbatch_cmd_free(cmd);
			return NULL;
		}
		cmd->nr_pages++;
		cmd->nr_vecs++;
	}
	if (m->op == MBATCH_OP_WRITE)
		mbatch_cmd_copy_in(cmd, m->data);
	return cmd;
}

int mbatch_cmd_init(void)
{
	/* The page counts fit their u16 fields. */
	BUILD_BUG_ON(DIV_ROUND_UP(MBATCH_MAX_PROXY_IO_LEN, PAGE_SIZE) + 1 >
		     U16_MAX);
	BUILD_BUG_ON(MBATCH_CMD_PAGES > U16_MAX);
	mbatch_cmd_cache = KMEM_CACHE(mbatch_command, 0);
	return mbatch_cmd_cache ? 0 : -ENOMEM;
}

void mbatch_cmd_exit(void)
{
	kmem_cache_destroy(mbatch_cmd_cache);
}
