/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernel lines mbatch builds for (6.1 and 6.12)
 * live here and only here.
 */
#ifndef _MBATCH_COMPAT_H
#define _MBATCH_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/net.h>
#include <linux/bvec.h>
#include <linux/uio.h>
#include <net/genetlink.h>

#define MBATCH_KERNEL_AT_LEAST(a, b) \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(a, b, 0))

/* Block device handle: a bdev opened exclusively, by path. */
struct mbatch_bdev {
#if MBATCH_KERNEL_AT_LEAST(6, 9)
	struct file *file;
#endif
	struct block_device *bdev;
};

static inline int mbatch_bdev_open(struct mbatch_bdev *h, const char *path,
				   void *holder)
{
#if MBATCH_KERNEL_AT_LEAST(6, 9)
	struct file *f;

	f = bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
				   holder, NULL);
	if (IS_ERR(f))
		return PTR_ERR(f);
	h->file = f;
	h->bdev = file_bdev(f);
#else
	struct block_device *bdev;

	bdev = blkdev_get_by_path(path, FMODE_READ | FMODE_WRITE | FMODE_EXCL,
				  holder);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	h->bdev = bdev;
#endif
	return 0;
}

static inline void mbatch_bdev_close(struct mbatch_bdev *h)
{
#if MBATCH_KERNEL_AT_LEAST(6, 9)
	bdev_fput(h->file);
#else
	blkdev_put(h->bdev, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
#endif
	h->bdev = NULL;
}

/* Pin user pages; the caller holds the mmap lock. */
static inline long mbatch_pin_user_pages(unsigned long start,
					 unsigned long nr, unsigned int gup,
					 struct page **pages)
{
#if MBATCH_KERNEL_AT_LEAST(6, 5)
	return pin_user_pages(start, nr, gup, pages);
#else
	return pin_user_pages(start, nr, gup, pages, NULL);
#endif
}

/*
 * The pin flags for a region's range in @vma. Before 6.2 a read-only
 * long-term pin of a private (COW) mapping could pin the shared zero page or
 * a file's page cache page, which the process's next write replaces with a
 * copy the region never sees: break COW at pinning instead, as a write pin.
 */
static inline unsigned int mbatch_pin_flags(struct vm_area_struct *vma,
					    bool writable)
{
	unsigned int gup_flags = FOLL_LONGTERM;

	if (writable)
		return gup_flags | FOLL_WRITE;
#if !MBATCH_KERNEL_AT_LEAST(6, 2)
	if (is_cow_mapping(vma->vm_flags))
		gup_flags |= FOLL_WRITE | FOLL_FORCE;
#endif
	return gup_flags;
}

/* Attributes of a dump request, parsed by the genetlink core. */
static inline struct nlattr **mbatch_dump_attrs(struct netlink_callback *cb)
{
#if MBATCH_KERNEL_AT_LEAST(6, 3)
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/*
 * An extack message that names the message of a batch by index where the
 * kernel can format one (6.2+); older kernels get the fixed text, and the
 * bad-attribute offset still points at the exact attribute.
 */
#ifdef NL_SET_ERR_MSG_FMT_MOD
#define MBATCH_MSG_ERR(extack, idx, attr, msg) do {			\
	struct netlink_ext_ack *__ack = (extack);			\
	NL_SET_ERR_MSG_FMT_MOD(__ack, "message %u: " msg, (idx));	\
	NL_SET_BAD_ATTR(__ack, attr);					\
} while (0)
#else
#define MBATCH_MSG_ERR(extack, idx, attr, msg) do {			\
	struct netlink_ext_ack *__ack = (extack);			\
	NL_SET_ERR_MSG_MOD(__ack, msg);					\
	NL_SET_BAD_ATTR(__ack, attr);					\
} while (0)
#endif

/*
 * The same with a static text that is not a literal; old kernels get the
 * text alone.
 */
#ifdef NL_SET_ERR_MSG_FMT_MOD
#define MBATCH_MSG_ERR_TEXT(extack, idx, attr, text) do {		\
	struct netlink_ext_ack *__ack = (extack);			\
	NL_SET_ERR_MSG_FMT_MOD(__ack, "message %u: %s", (idx), (text));	\
	NL_SET_BAD_ATTR(__ack, attr);					\
} while (0)
#else
#define MBATCH_MSG_ERR_TEXT(extack, idx, attr, text) do {		\
	struct netlink_ext_ack *__ack = (extack);			\
	if (__ack)							\
		__ack->_msg = (text);					\
	NL_SET_BAD_ATTR(__ack, attr);					\
} while (0)
#endif

/* An extack message from a static text that is not a literal. */
#ifdef NL_SET_ERR_MSG_FMT_MOD
#define MBATCH_ERR_TEXT(extack, text)					\
	NL_SET_ERR_MSG_FMT_MOD((extack), "%s", (text))
#else
#define MBATCH_ERR_TEXT(extack, text) do {				\
	struct netlink_ext_ack *__ack = (extack);			\
	if (__ack)							\
		__ack->_msg = (text);					\
} while (0)
#endif

/*
 * Send @len bytes of @pages, from @off in the first, without copying them:
 * the socket takes its own references to the pages. 6.1's headers define
 * MSG_SPLICE_PAGES, but its TCP ignores the flag (it copies): there the
 * pages go by kernel_sendpage(), which 6.5 removed. 0 or -errno.
 */
static inline int mbatch_sock_send_pages(struct socket *sock,
					 struct page **pages, u32 off,
					 u32 len, bool more)
{
	while (len) {
#if MBATCH_KERNEL_AT_LEAST(6, 5)
		struct msghdr msg = {
			.msg_flags = MSG_SPLICE_PAGES | MSG_NOSIGNAL | MSG_MORE,
		};
		struct bio_vec bv[16];
		u32 n = 0, bytes = 0, at = off;
#else
		int flags = MSG_NOSIGNAL | MSG_MORE;
		u32 bytes;
#endif
		int ret;

#if MBATCH_KERNEL_AT_LEAST(6, 5)
		while (n < ARRAY_SIZE(bv) && bytes < len) {
			u32 poff = offset_in_page(at);
			u32 piece = min_t(u32, len - bytes, PAGE_SIZE - poff);

			bvec_set_page(&bv[n++], pages[at >> PAGE_SHIFT], piece,
				      poff);
			bytes += piece;
			at += piece;
		}
		if (bytes == len && !more)
			msg.msg_flags &= ~MSG_MORE;
		iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, bytes);
		ret = sock_sendmsg(sock, &msg);
#else
		bytes = min_t(u32, len, PAGE_SIZE - offset_in_page(off));
		if (bytes == len && !more)
			flags &= ~MSG_MORE;
		ret = kernel_sendpage(sock, pages[off >> PAGE_SHIFT],
				      offset_in_page(off), bytes, flags);
#endif
		if (ret <= 0)
			return ret ?: -EPIPE;
		/* A short send resumes where it stopped. */
		off += ret;
		len -= ret;
	}
	return 0;
}

#endif /* _MBATCH_COMPAT_H */
