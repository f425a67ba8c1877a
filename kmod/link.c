// SPDX-License-Identifier: GPL-2.0
/*
 * Links: one authenticated TCP socket to a peer, handed over by user space.
 * A receive thread reads and checks frames (it sleeps in recvmsg() for the
 * life of the link, so it is a thread, not a work item that could starve
 * others), a transmit work item builds and sends them, a keepalive work
 * item pings and declares the link dead when nothing arrives or a send
 * does not progress.
 * Nothing here runs in a netlink caller's context, so no caller ever waits
 * for the network. Any fault drops the link; a link is never reused.
 */
#include <linux/completion.h>
#include <linux/crc32c.h>
#include <linux/kthread.h>
#include <linux/sched/task.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "peer.h"

#define MBATCH_TXBUF_SIZE	(MBATCH_WIRE_MSGS_MAX + (64U << 10))

static struct workqueue_struct *mbatch_link_wq;

/* CRC-32C as iSCSI and NVMe/TCP use it. */
static u32 mbatch_crc(const void *buf, size_t len)
{
	return ~crc32c(~0U, buf, len);
}

static void mbatch_link_release(struct kref *ref)
{
	struct mbatch_link *l = container_of(ref, struct mbatch_link, ref);

	put_task_struct(l->rx_task);
	write_lock_bh(&l->sock->sk->sk_callback_lock);
	rcu_assign_sk_user_data(l->sock->sk, NULL);
	write_unlock_bh(&l->sock->sk->sk_callback_lock);
	sockfd_put(l->sock);
	kvfree(l->txbuf);
	kvfree(l->rxbuf);
	mbatch_peer_put(l->peer);
	kfree(l);
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

/* Drop the link, once: the reason is logged and reported by LINK_DOWN. */
void mbatch_link_down(struct mbatch_link *l, int err, const char *reason)
{
	struct mbatch_peer *p = l->peer;
	unsigned long flags;

	if (atomic_xchg(&l->down, 1))
		return;
	spin_lock_irqsave(&p->lock, flags);
	strscpy(l->reason, reason, sizeof(l->reason));
	l->err = err;
	spin_unlock_irqrestore(&p->lock, flags);
	pr_info_ratelimited("mbatch: peer %s: link down: %s (%d)\n", p->name,
			    reason, err);
	/* Wakes the receiver and any blocked sender. */
	kernel_sock_shutdown(l->sock, SHUT_RDWR);
	kref_get(&l->ref);
	queue_work(mbatch_link_wq, &l->down_work);
}

int mbatch_link_send(struct mbatch_link *l, u16 type, u32 session, u64 arg,
		     const void *payload, u32 len)
{
	struct mbatch_wire_hdr h = {
		.version = MBATCH_WIRE_VERSION,
		.type = cpu_to_le16(type),
		.len = cpu_to_le32(len),
		.session = cpu_to_le32(session),
		.seq = cpu_to_le64(++l->tx_seq),
		.arg = cpu_to_le64(arg),
	};
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov[3];
	unsigned int n = 0;
	__le32 ddigest;
	size_t total;
	int ret;

	if (atomic_read(&l->down))
		return -ENOTCONN;
	if (l->digest & MBATCH_DIGEST_HEADER)
		h.hdigest = cpu_to_le32(mbatch_crc(&h, sizeof(h)));
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
	WRITE_ONCE(l->tx_since, 0);
	if (ret != total) {
		mbatch_link_down(l, ret < 0 ? ret : -EPIPE, "send failed");
		return ret < 0 ? ret : -EPIPE;
	}
	mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_TX_FRAMES, 1);
	mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_TX_BYTES, total);
	return 0;
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
		buf += ret;
		len -= ret;
	}
	return 0;
}

static int mbatch_link_proto(struct mbatch_link *l, const char *reason)
{
	mbatch_link_down(l, -EPROTO, reason);
	return -EPROTO;
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

static int mbatch_link_frame(struct mbatch_link *l, struct mbatch_wire_hdr *h,
			     void *payload, u32 len)
{
	struct mbatch_peer *p = l->peer;
	u16 type = le16_to_cpu(h->type);
	u64 arg = le64_to_cpu(h->arg);
	unsigned long flags;
	u64 now;

	switch (type) {
	case MBATCH_FRAME_PING:
		if (len || h->session)
			return mbatch_link_proto(l, "malformed ping");
		spin_lock_irqsave(&p->lock, flags);
		l->pong = true;
		l->pong_arg = arg;
		spin_unlock_irqrestore(&p->lock, flags);
		mbatch_link_kick(l);
		return 0;
	case MBATCH_FRAME_PONG:
		if (len || h->session)
			return mbatch_link_proto(l, "malformed pong");
		now = ktime_get_ns();
		if (arg > now)
			return mbatch_link_proto(l, "pong from the future");
		spin_lock_irqsave(&p->lock, flags);
		p->rtt_us = min_t(u64, div_u64(now - arg, NSEC_PER_USEC),
				  U32_MAX);
		spin_unlock_irqrestore(&p->lock, flags);
		return 0;
	default:
		return mbatch_remote_rx(l, h, payload, len);
	}
}

static int mbatch_link_rx_thread(void *arg)
{
	struct mbatch_link *l = arg;
	struct mbatch_wire_hdr h;
	__le32 ddigest;
	u32 len;
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
		if (len) {
			err = mbatch_link_recv(l, l->rxbuf, len);
			if (!err && (l->digest & MBATCH_DIGEST_DATA))
				err = mbatch_link_recv(l, &ddigest,
						       sizeof(ddigest));
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
		mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_RX_FRAMES, 1);
		mbatch_peer_count(l->peer, MBATCH_PEER_STATS_A_RX_BYTES,
				  sizeof(h) + len +
				  (len && (l->digest & MBATCH_DIGEST_DATA) ?
				   sizeof(ddigest) : 0));
		if (mbatch_link_frame(l, &h, l->rxbuf, len))
			break;
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
	struct mbatch_peer *p = l->peer;
	unsigned long flags;
	bool ping, pong;
	u64 pong_arg;

	spin_lock_irqsave(&p->lock, flags);
	ping = l->ping;
	pong = l->pong;
	pong_arg = l->pong_arg;
	l->ping = false;
	l->pong = false;
	spin_unlock_irqrestore(&p->lock, flags);

	if (pong && mbatch_link_send(l, MBATCH_FRAME_PONG, 0, pong_arg,
				     NULL, 0))
		return;
	if (ping && mbatch_link_send(l, MBATCH_FRAME_PING, 0, ktime_get_ns(),
				     NULL, 0))
		return;
	mbatch_remote_tx(l);
}

static void mbatch_link_ka_work(struct work_struct *work)
{
	struct mbatch_link *l = container_of(to_delayed_work(work),
					     struct mbatch_link, ka_work);
	struct mbatch_peer *p = l->peer;
	unsigned long ka = msecs_to_jiffies(p->keepalive_ms);
	unsigned long flags, since;

	if (atomic_read(&l->down))
		return;
	if (time_after(jiffies, READ_ONCE(l->last_rx) +
		       ka * MBATCH_DEAD_KEEPALIVES)) {
		mbatch_link_down(l, -ETIMEDOUT, "keepalive timeout");
		return;
	}
	since = READ_ONCE(l->tx_since);
	if (since && time_after(jiffies, since + ka * MBATCH_DEAD_KEEPALIVES)) {
		/* The peer talks but does not read. */
		mbatch_link_down(l, -ETIMEDOUT, "send stalled");
		return;
	}
	spin_lock_irqsave(&p->lock, flags);
	l->ping = true;
	spin_unlock_irqrestore(&p->lock, flags);
	mbatch_link_kick(l);
	queue_delayed_work(mbatch_link_wq, &l->ka_work, ka);
}

static void mbatch_link_down_work(struct work_struct *work)
{
	struct mbatch_link *l = container_of(work, struct mbatch_link,
					     down_work);

	/* Attach publishes a link, then starts it: let it finish. */
	wait_for_completion(&l->started);
	cancel_delayed_work_sync(&l->ka_work);
	kthread_stop(l->rx_task);
	cancel_work_sync(&l->tx_work);
	mbatch_peer_link_lost(l->peer, l);
	/*
	 * Kicks find a link through peer->link under the peer's lock; it no
	 * longer points here, so a kick that raced with the one above is the
	 * last.
	 */
	cancel_work_sync(&l->tx_work);
	complete_all(&l->stopped);
	mbatch_link_put(l);
}

/*
 * Takes over @sock (its file reference) on success. A socket serves one
 * link: it is claimed through sk_user_data.
 */
struct mbatch_link *mbatch_link_create(struct mbatch_peer *p,
				       struct socket *sock, u32 digest)
{
	struct sock *sk = sock->sk;
	struct mbatch_link *l;
	bool busy;

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return ERR_PTR(-ENOMEM);
	l->txbuf = kvmalloc(MBATCH_TXBUF_SIZE, GFP_KERNEL);
	l->rxbuf = kvmalloc(MBATCH_WIRE_MAX_PAYLOAD, GFP_KERNEL);
	if (!l->txbuf || !l->rxbuf) {
		kvfree(l->txbuf);
		kvfree(l->rxbuf);
		kfree(l);
		return ERR_PTR(-ENOMEM);
	}
	l->rx_task = kthread_create(mbatch_link_rx_thread, l, "mbatch-rx/%s",
				    p->name);
	write_lock_bh(&sk->sk_callback_lock);
	busy = rcu_access_pointer(__sk_user_data(sk));
	if (!busy)
		rcu_assign_sk_user_data(sk, l);
	write_unlock_bh(&sk->sk_callback_lock);
	if (busy || IS_ERR(l->rx_task)) {
		if (!IS_ERR(l->rx_task))
			kthread_stop(l->rx_task);
		if (!busy) {
			write_lock_bh(&sk->sk_callback_lock);
			rcu_assign_sk_user_data(sk, NULL);
			write_unlock_bh(&sk->sk_callback_lock);
		}
		kvfree(l->txbuf);
		kvfree(l->rxbuf);
		kfree(l);
		return ERR_PTR(busy ? -EBUSY : -ENOMEM);
	}
	get_task_struct(l->rx_task);
	kref_init(&l->ref);
	kref_get(&p->ref);
	l->peer = p;
	l->sock = sock;
	l->digest = digest;
	l->last_rx = jiffies;
	INIT_WORK(&l->tx_work, mbatch_link_tx_work);
	INIT_WORK(&l->down_work, mbatch_link_down_work);
	INIT_DELAYED_WORK(&l->ka_work, mbatch_link_ka_work);
	init_completion(&l->stopped);
	init_completion(&l->started);
	/* Deadlines are ours (keepalive), not the handshake's. */
	lock_sock(sock->sk);
	sock->sk->sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;
	sock->sk->sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
	release_sock(sock->sk);
	return l;
}

/* Start a link attach has published; down_work waits for this. */
void mbatch_link_start(struct mbatch_link *l)
{
	wake_up_process(l->rx_task);
	queue_delayed_work(mbatch_link_wq, &l->ka_work,
			   msecs_to_jiffies(l->peer->keepalive_ms));
	mbatch_link_kick(l);
	complete_all(&l->started);
}

/* Drop a link that was never published nor started. */
void mbatch_link_discard(struct mbatch_link *l)
{
	atomic_set(&l->down, 1);
	kthread_stop(l->rx_task);
	mbatch_link_put(l);
}

/*
 * Wait until a link that went down is fully stopped and detached, whoever
 * took it down. The caller holds a reference.
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
