// SPDX-License-Identifier: GPL-2.0
/*
 * Links: one authenticated TCP socket to a peer, handed over by user space.
 * A receive thread reads and checks frames (it sleeps in recvmsg() for the
 * life of the link, so it is a thread, not a work item that could starve
 * others), a transmit work item sends what the owner has, and the keepalive
 * (timer.c) pings and declares the link dead when nothing arrives or a send
 * does not progress.
 *
 * Nothing here runs in a netlink caller's context, so no caller ever waits
 * for the network. Any fault drops the link; a link is never reused. The
 * socket does not linger: when the link lets go of it, the connection is
 * reset, so a dead peer cannot pin it (and its namespace) for minutes.
 */
#include <linux/crc32c.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/sock.h>

#include "compat.h"
#include "fault.h"
#include "link.h"
#include "timer.h"

static struct workqueue_struct *mbatch_link_wq;

/* CRC-32C as iSCSI and NVMe/TCP use it. */
static u32 mbatch_crc(const void *buf, size_t len)
{
	return ~crc32c(~0U, buf, len);
}

static void mbatch_link_release(struct kref *ref)
{
	struct mbatch_link *l = container_of(ref, struct mbatch_link, ref);
	struct sock *sk = l->sock->sk;

	put_task_struct(l->rx_task);
	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_sk_user_data(sk, NULL);
	write_unlock_bh(&sk->sk_callback_lock);
	sockfd_put(l->sock);
	kvfree(l->txbuf);
	kvfree(l->rxbuf);
	l->ops->release(l);
	mbatch_obj_gone(MBATCH_OBJ_LINK);
	kfree(l);
}

void mbatch_link_get(struct mbatch_link *l)
{
	kref_get(&l->ref);
}

void mbatch_link_put(struct mbatch_link *l)
{
	kref_put(&l->ref, mbatch_link_release);
}

void mbatch_link_kick(struct mbatch_link *l)
{
	if (!atomic_read(&l->down))
		queue_work(mbatch_link_wq, &l->tx_work);
}

/* The keepalive asks for a PING. */
void mbatch_link_ping(struct mbatch_link *l)
{
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	l->ping = true;
	spin_unlock_irqrestore(&l->lock, flags);
	mbatch_link_kick(l);
}

/* Drop the link, once: the reason is logged and reported by LINK_DOWN. */
void mbatch_link_down(struct mbatch_link *l, int err, const char *reason)
{
	unsigned long flags;

	if (atomic_xchg(&l->down, 1))
		return;
	spin_lock_irqsave(&l->lock, flags);
	strscpy(l->reason, reason, sizeof(l->reason));
	l->err = err;
	spin_unlock_irqrestore(&l->lock, flags);
	pr_info_ratelimited("mbatch: peer %s: link down: %s (%d)\n", l->name,
			    reason, err);
	/* Wakes the receiver and any blocked sender. */
	kernel_sock_shutdown(l->sock, SHUT_RDWR);
	kref_get(&l->ref);
	queue_work(mbatch_link_wq, &l->down_work);
}

/* A frame broke the protocol: drop the link with @reason. */
int mbatch_link_proto(struct mbatch_link *l, const char *reason)
{
	mbatch_link_down(l, -EPROTO, reason);
	return -EPROTO;
}

void mbatch_link_reason(struct mbatch_link *l, char *reason, size_t len,
			int *err)
{
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	strscpy(reason, l->reason, len);
	*err = l->err;
	spin_unlock_irqrestore(&l->lock, flags);
}

/* The next frame's header, with its digest if negotiated. */
static void mbatch_link_hdr(struct mbatch_link *l, struct mbatch_wire_hdr *h,
			    u16 type, u32 session, u64 arg, u32 len)
{
	*h = (struct mbatch_wire_hdr){
		.version = MBATCH_WIRE_VERSION,
		.type = cpu_to_le16(type),
		.len = cpu_to_le32(len),
		.session = cpu_to_le32(session),
		.seq = cpu_to_le64(++l->tx_seq),
		.arg = cpu_to_le64(arg),
	};
	if (l->digest & MBATCH_DIGEST_HEADER)
		h->hdigest = cpu_to_le32(mbatch_crc(h, sizeof(*h)));
}

/* A frame of @total bytes went out (@err 0), or the link drops. */
static int mbatch_link_sent(struct mbatch_link *l, int err, size_t total)
{
	WRITE_ONCE(l->tx_since, 0);
	if (err) {
		mbatch_link_down(l, err, "send failed");
		return err;
	}
	atomic64_inc(&l->stats.tx_frames);
	atomic64_add(total, &l->stats.tx_bytes);
	return 0;
}

int mbatch_link_send(struct mbatch_link *l, u16 type, u32 session, u64 arg,
		     const void *payload, u32 len)
{
	struct mbatch_wire_hdr h;
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov[3];
	unsigned int n = 0;
	__le32 ddigest;
	size_t total;
	int ret;

	if (atomic_read(&l->down))
		return -ENOTCONN;
	mbatch_link_hdr(l, &h, type, session, arg, len);
	iov[n++] = (struct kvec){ .iov_base = &h, .iov_len = sizeof(h) };
	total = sizeof(h);
	if (len) {
		iov[n++] = (struct kvec){ .iov_base = (void *)payload,
					  .iov_len = len };
		total += len;
		if (l->digest & MBATCH_DIGEST_DATA) {
			ddigest = cpu_to_le32(mbatch_crc(payload, len));
			iov[n++] = (struct kvec){ .iov_base = &ddigest,
						  .iov_len = sizeof(ddigest) };
			total += sizeof(ddigest);
		}
	}
	WRITE_ONCE(l->tx_since, jiffies | 1);
	ret = kernel_sendmsg(l->sock, &msg, iov, n, total);
	return mbatch_link_sent(l, ret == total ? 0 : ret < 0 ? ret : -EPIPE,
				total);
}

/* CRC-32C of @len bytes of @pages from @off in the first. */
static u32 mbatch_crc_pages(struct page **pages, u32 off, u32 len)
{
	u32 crc = ~0U;

	while (len) {
		u32 poff = offset_in_page(off);
		u32 n = min_t(u32, len, PAGE_SIZE - poff);
		void *p = kmap_local_page(pages[off >> PAGE_SHIFT]);

		crc = crc32c(crc, p + poff, n);
		kunmap_local(p);
		off += n;
		len -= n;
	}
	return ~crc;
}

/*
 * A frame whose payload is @len bytes of @pages (from @off in the first),
 * sent without copying them where the kernel can (compat.h). The caller
 * holds a reference to every page until this returns; the socket takes its
 * own for what it still has to send. 0 or -errno; an error drops the link.
 */
int mbatch_link_send_pages(struct mbatch_link *l, u16 type, u32 session,
			   u64 arg, struct page **pages, u32 off, u32 len)
{
	struct mbatch_wire_hdr h;
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | MSG_MORE };
	bool ddigest = l->digest & MBATCH_DIGEST_DATA;
	struct kvec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	__le32 crc = 0;
	u32 sent = 0;
	int ret;

	if (atomic_read(&l->down))
		return -ENOTCONN;
	mbatch_link_hdr(l, &h, type, session, arg, len);
	if (ddigest)
		crc = cpu_to_le32(mbatch_crc_pages(pages, off, len));
	WRITE_ONCE(l->tx_since, jiffies | 1);
	ret = kernel_sendmsg(l->sock, &msg, &iov, 1, sizeof(h));
	ret = ret == sizeof(h) ? 0 : ret < 0 ? ret : -EPIPE;
	while (!ret && len - sent) {
		/* A send that progresses is not stalled (keepalive). */
		u32 n = min_t(u32, len - sent, MBATCH_LINK_BATCH);

		WRITE_ONCE(l->tx_since, jiffies | 1);
		ret = mbatch_sock_send_pages(l->sock, pages, off + sent, n,
					     ddigest || sent + n < len);
		sent += n;
	}
	if (!ret && ddigest) {
		iov = (struct kvec){ .iov_base = &crc, .iov_len = sizeof(crc) };
		msg.msg_flags = MSG_NOSIGNAL;
		ret = kernel_sendmsg(l->sock, &msg, &iov, 1, sizeof(crc));
		ret = ret == sizeof(crc) ? 0 : ret < 0 ? ret : -EPIPE;
	}
	return mbatch_link_sent(l, ret, sizeof(h) + len +
				(ddigest ? sizeof(crc) : 0));
}

/* Read exactly @len bytes; 0 or -errno. */
static int mbatch_link_recv(struct mbatch_link *l, void *buf, size_t len)
{
	while (len) {
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret;

		ret = kernel_recvmsg(l->sock, &msg, &iov, 1, len,
				     MSG_WAITALL | MSG_NOSIGNAL);
		if (ret <= 0)
			return ret ?: -ECONNRESET;
		/* A large frame arriving keeps the link alive. */
		WRITE_ONCE(l->last_rx, jiffies);
		buf += ret;
		len -= ret;
	}
	return 0;
}

/* Read into @to (a page iterator) exactly what it holds; 0 or -errno. */
static int mbatch_link_recv_iter(struct mbatch_link *l, struct iov_iter *to)
{
	while (iov_iter_count(to)) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret;

		msg.msg_iter = *to;
		ret = sock_recvmsg(l->sock, &msg, MSG_WAITALL | MSG_NOSIGNAL);
		if (ret <= 0)
			return ret ?: -ECONNRESET;
		WRITE_ONCE(l->last_rx, jiffies);
		iov_iter_advance(to, ret);
	}
	return 0;
}

/*
 * Bulk frames: their payload is read by the owner, see struct mbatch_rx.
 * A read past the payload is -EPROTO, for the owner to report as the
 * malformed frame it is; a socket that fails drops the link. Either way
 * the owner stops reading.
 */
static bool mbatch_frame_bulk(u16 type)
{
	return type == MBATCH_FRAME_RESULTS || type == MBATCH_FRAME_DATA;
}

static int mbatch_rx_check(struct mbatch_rx *rx, u32 len)
{
	return len > rx->len - rx->off ? -EPROTO : 0;
}

static int mbatch_rx_failed(struct mbatch_rx *rx, int err)
{
	mbatch_link_down(rx->l, err, "truncated frame");
	return err;
}

int mbatch_rx_read(struct mbatch_rx *rx, void *to, u32 len)
{
	int err = mbatch_rx_check(rx, len);

	if (err)
		return err;
	if (rx->buf)
		memcpy(to, rx->buf + rx->off, len);
	else
		err = mbatch_link_recv(rx->l, to, len);
	if (err)
		return mbatch_rx_failed(rx, err);
	rx->off += len;
	return 0;
}

/* @len bytes into @pages from byte @off of the first. */
int mbatch_rx_read_pages(struct mbatch_rx *rx, struct page **pages, u32 off,
			 u32 len)
{
	struct bio_vec bv[16];
	struct iov_iter it;
	unsigned int nr;
	u32 n, chunk;
	int err = mbatch_rx_check(rx, len);

	if (err)
		return err;
	while (len) {
		chunk = 0;
		for (nr = 0; nr < ARRAY_SIZE(bv) && len - chunk; nr++) {
			u32 at = off + chunk, poff = offset_in_page(at);

			n = min_t(u32, len - chunk, PAGE_SIZE - poff);
			bvec_set_page(&bv[nr], pages[at >> PAGE_SHIFT], n, poff);
			chunk += n;
		}
		iov_iter_bvec(&it, ITER_DEST, bv, nr, chunk);
		if (!rx->buf)
			err = mbatch_link_recv_iter(rx->l, &it);
		else if (copy_to_iter(rx->buf + rx->off, chunk, &it) != chunk)
			err = -EFAULT;
		if (err)
			return mbatch_rx_failed(rx, err);
		rx->off += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

int mbatch_rx_skip(struct mbatch_rx *rx, u32 len)
{
	int err = mbatch_rx_check(rx, len);

	if (err)
		return err;
	if (!rx->buf)
		err = mbatch_link_recv(rx->l, rx->l->rxbuf, len);
	if (err)
		return mbatch_rx_failed(rx, err);
	rx->off += len;
	return 0;
}

/* Check a header before anything of the frame is trusted. */
static int mbatch_link_check_hdr(struct mbatch_link *l,
				 struct mbatch_wire_hdr *h)
{
	u16 type = le16_to_cpu(h->type);
	u32 len = le32_to_cpu(h->len);

	/* With a digest nothing is read before it is verified. */
	if (l->digest & MBATCH_DIGEST_HEADER) {
		u32 want = le32_to_cpu(h->hdigest);

		h->hdigest = 0;
		if (mbatch_crc(h, sizeof(*h)) != want)
			return mbatch_link_proto(l, "header digest mismatch");
	}
	if (h->version != MBATCH_WIRE_VERSION)
		return mbatch_link_proto(l, "unknown frame version");
	if (h->flags)
		return mbatch_link_proto(l, "unknown frame flags");
	if (h->hdigest)
		return mbatch_link_proto(l, "header digest not negotiated");
	if (le64_to_cpu(h->seq) != l->rx_seq + 1)
		return mbatch_link_proto(l, "frame out of sequence");
	if (!type || type >= __MBATCH_FRAME_MAX)
		return mbatch_link_proto(l, "unknown frame type");
	if (len > MBATCH_WIRE_MAX_PAYLOAD)
		return mbatch_link_proto(l, "frame too long");
	return 0;
}

static int mbatch_link_frame(struct mbatch_link *l,
			     const struct mbatch_frame *f)
{
	unsigned long flags;
	u64 now;

	switch (f->type) {
	case MBATCH_FRAME_PING:
		if (f->len || f->session)
			return mbatch_link_proto(l, "malformed ping");
		spin_lock_irqsave(&l->lock, flags);
		l->pong = true;
		l->pong_arg = f->arg;
		spin_unlock_irqrestore(&l->lock, flags);
		mbatch_link_kick(l);
		return 0;
	case MBATCH_FRAME_PONG:
		if (f->len || f->session)
			return mbatch_link_proto(l, "malformed pong");
		now = ktime_get_ns();
		if (f->arg > now)
			return mbatch_link_proto(l, "pong from the future");
		spin_lock_irqsave(&l->lock, flags);
		l->rtt_us = min_t(u64, div_u64(now - f->arg, NSEC_PER_USEC),
				  U32_MAX);
		spin_unlock_irqrestore(&l->lock, flags);
		return 0;
	default:
		return l->ops->rx(l, f);
	}
}

static int mbatch_link_rx_thread(void *arg)
{
	struct mbatch_link *l = arg;
	struct mbatch_wire_hdr h;
	struct mbatch_frame f;
	struct mbatch_rx rx;
	__le32 ddigest;
	u32 len, extra;
	bool bulk;
	u16 type;
	int err;

	while (!kthread_should_stop() && !atomic_read(&l->down)) {
		err = mbatch_link_recv(l, &h, sizeof(h));
		if (err) {
			mbatch_link_down(l, err, err == -ECONNRESET ?
					 "connection closed" : "receive failed");
			break;
		}
		WRITE_ONCE(l->last_rx, jiffies);
		if (mbatch_link_check_hdr(l, &h))
			break;
		len = le32_to_cpu(h.len);
		type = le16_to_cpu(h.type);
		extra = 0;
		/* Without a digest a bulk frame's payload is the owner's. */
		bulk = mbatch_frame_bulk(type);
		if (len && (!bulk || (l->digest & MBATCH_DIGEST_DATA))) {
			err = mbatch_link_recv(l, l->rxbuf, len);
			if (!err && (l->digest & MBATCH_DIGEST_DATA)) {
				err = mbatch_link_recv(l, &ddigest,
						       sizeof(ddigest));
				extra = sizeof(ddigest);
			}
			if (err) {
				mbatch_link_down(l, err, "truncated frame");
				break;
			}
			if ((l->digest & MBATCH_DIGEST_DATA) &&
			    mbatch_crc(l->rxbuf, len) != le32_to_cpu(ddigest)) {
				mbatch_link_proto(l, "data digest mismatch");
				break;
			}
		}
		l->rx_seq++;
		f = (struct mbatch_frame){
			.type = type,
			.session = le32_to_cpu(h.session),
			.arg = le64_to_cpu(h.arg),
			.data = bulk ? NULL : l->rxbuf,
			.len = len,
		};
		if (bulk) {
			rx = (struct mbatch_rx){
				.l = l,
				.buf = l->digest & MBATCH_DIGEST_DATA ?
				       l->rxbuf : NULL,
				.len = len,
			};
			f.rx = &rx;
		}
		/* A frame its owner could not take ends the link (first reason wins). */
		err = mbatch_link_frame(l, &f);
		if (err) {
			mbatch_link_down(l, err, "frame refused");
			break;
		}
		/* What the owner did not want of it. */
		if (bulk && rx.off < len && mbatch_rx_skip(&rx, len - rx.off))
			break;
		/* Counted once all of it has arrived. */
		atomic64_inc(&l->stats.rx_frames);
		atomic64_add(sizeof(h) + len + extra, &l->stats.rx_bytes);
	}
	/* Until kthread_stop(), which down_work calls once started. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		schedule();
	}
	return 0;
}

static void mbatch_link_tx_work(struct work_struct *work)
{
	struct mbatch_link *l = container_of(work, struct mbatch_link,
					     tx_work);
	unsigned long flags;
	bool ping, pong;
	u64 pong_arg;

	spin_lock_irqsave(&l->lock, flags);
	ping = l->ping;
	pong = l->pong;
	pong_arg = l->pong_arg;
	l->ping = false;
	l->pong = false;
	spin_unlock_irqrestore(&l->lock, flags);

	if (pong && mbatch_link_send(l, MBATCH_FRAME_PONG, 0, pong_arg,
				     NULL, 0))
		return;
	if (ping && mbatch_link_send(l, MBATCH_FRAME_PING, 0, ktime_get_ns(),
				     NULL, 0))
		return;
	l->ops->tx(l);
}

static void mbatch_link_down_work(struct work_struct *work)
{
	struct mbatch_link *l = container_of(work, struct mbatch_link,
					     down_work);

	/* The owner publishes a link, then starts it: let it finish. */
	wait_for_completion(&l->started);
	mbatch_timer_link_stop(l);
	kthread_stop(l->rx_task);
	cancel_work_sync(&l->tx_work);
	l->ops->stopped(l);
	/*
	 * Kicks find a link through its owner, which no longer points here:
	 * a kick that raced with the cancel above is the last.
	 */
	cancel_work_sync(&l->tx_work);
	complete_all(&l->stopped);
	mbatch_link_put(l);
}

/*
 * Takes over @sock (its file reference) on success. A socket serves one
 * link: it is claimed through sk_user_data.
 */
struct mbatch_link *mbatch_link_create(struct socket *sock, u32 digest,
				       u32 keepalive_ms, const char *name,
				       const struct mbatch_link_ops *ops,
				       void *owner)
{
	struct sock *sk = sock->sk;
	struct mbatch_link *l;
	bool busy;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return ERR_PTR(-ENOMEM);
	mbatch_obj_new(MBATCH_OBJ_LINK);
	l->txbuf = kvmalloc(MBATCH_LINK_TXBUF, GFP_KERNEL);
	l->rxbuf = kvmalloc(MBATCH_WIRE_MAX_PAYLOAD, GFP_KERNEL);
	if (!l->txbuf || !l->rxbuf) {
		kvfree(l->txbuf);
		kvfree(l->rxbuf);
		mbatch_obj_gone(MBATCH_OBJ_LINK);
		kfree(l);
		return ERR_PTR(-ENOMEM);
	}
	l->rx_task = kthread_create(mbatch_link_rx_thread, l, "mbatch-rx/%s",
				    name);
	write_lock_bh(&sk->sk_callback_lock);
	busy = rcu_access_pointer(__sk_user_data(sk));
	if (!busy && !IS_ERR(l->rx_task))
		rcu_assign_sk_user_data(sk, l);
	write_unlock_bh(&sk->sk_callback_lock);
	if (busy || IS_ERR(l->rx_task)) {
		if (!IS_ERR(l->rx_task))
			kthread_stop(l->rx_task);
		kvfree(l->txbuf);
		kvfree(l->rxbuf);
		mbatch_obj_gone(MBATCH_OBJ_LINK);
		kfree(l);
		return ERR_PTR(busy ? -EBUSY : -ENOMEM);
	}
	get_task_struct(l->rx_task);
	kref_init(&l->ref);
	l->ops = ops;
	l->owner = owner;
	l->name = name;
	l->sock = sock;
	l->digest = digest;
	l->keepalive_ms = keepalive_ms;
	l->last_rx = jiffies;
	spin_lock_init(&l->lock);
	INIT_WORK(&l->tx_work, mbatch_link_tx_work);
	INIT_WORK(&l->down_work, mbatch_link_down_work);
	mbatch_timer_link_init(l);
	init_completion(&l->stopped);
	init_completion(&l->started);
	/* Deadlines are ours (keepalive), not the handshake's. */
	lock_sock(sk);
	sk->sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
	sk->sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
	release_sock(sk);
	/* Letting go of the socket resets the connection: nothing lingers. */
	sock_no_linger(sk);
	return l;
}

/* Start a link its owner has published; down_work waits for this. */
void mbatch_link_start(struct mbatch_link *l)
{
	wake_up_process(l->rx_task);
	mbatch_timer_link_start(l);
	mbatch_link_kick(l);
	complete_all(&l->started);
}

/* Drop a link that was never started (the socket's file goes with it). */
void mbatch_link_discard(struct mbatch_link *l)
{
	atomic_set(&l->down, 1);
	kthread_stop(l->rx_task);
	mbatch_link_put(l);
}

/*
 * Wait until a link that went down is fully stopped, whoever took it down.
 * The caller holds a reference; never a netlink caller.
 */
void mbatch_link_flush(struct mbatch_link *l)
{
	wait_for_completion(&l->stopped);
}

int mbatch_link_init(void)
{
	mbatch_link_wq = alloc_workqueue("mbatch_link", WQ_UNBOUND, 0);
	return mbatch_link_wq ? 0 : -ENOMEM;
}

void mbatch_link_exit(void)
{
	destroy_workqueue(mbatch_link_wq);
}
