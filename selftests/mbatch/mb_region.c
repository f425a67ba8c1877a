// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 13: registered regions and proxied payloads. What a proxied WRITE
 * takes from a region is on the device (O_DIRECT pread) and comes back the
 * same through a proxied READ into a region and through inline READs, for
 * 1 MiB commands and a region offset that is not page aligned (257 pages,
 * the partly used ones at both ends left alone around the payload);
 * inline and proxied messages mix in a batch and across checkpoints, in
 * order by the module's own timestamps; a remote session copies them.
 * Every bad registration and every bad proxied message is refused with its
 * errno, extack text and attribute, whole (nothing queued). Which mappings
 * register writable and which read-only only. A region is its socket's,
 * its namespace's and its process's. It can be deleted, its owner killed,
 * or its memory unmapped while commands use it: they complete, on the
 * pages that were registered, and then every page is unpinned
 * (nr_foll_pin_acquired - nr_foll_pin_released back to what it was, after
 * every case) and every region freed (the module's counter). Pages are
 * charged to RLIMIT_MEMLOCK (CAP_IPC_LOCK exempt) and show in VmPin.
 */
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include "mb_harness.h"
#include "mb_test.h"
#include "mb_expect.h"

#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define PROXY_MAX	MBATCH_MAX_PROXY_IO_LEN
#define WAIT_MS		5000
/* every request waits this long at the device: commands stay in flight */
#define SLOW_NULLB	"size=64 memory_backed=1 irqmode=2 completion_nsec=200000000"
#define SLOW_DEPTH	2

static size_t pg(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

/*
 * Pages pinned in the system: nr_foll_pin_acquired - released, or -1.
 * The counters are per CPU first: stat_refresh folds them in, else a
 * reading can be a second behind.
 */
static long long pinned_pages(void)
{
	long long acq = -1, rel = -1, v;
	char k[64];
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2) {
		if (!strcmp(k, "nr_foll_pin_acquired"))
			acq = v;
		else if (!strcmp(k, "nr_foll_pin_released"))
			rel = v;
	}
	fclose(f);
	return acq < 0 || rel < 0 ? -1 : acq - rel;
}

/* VmPin of this process in kB, or -1. */
static long long vmpin_kb(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %lld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One counter of the module's debug_objects ("region", "command"), or -1. */
static long long objects(const char *name)
{
	char buf[512], *tok, *save;
	size_t n = strlen(name);
	long long v = -1;
	FILE *f = fopen("/sys/module/mbatch/parameters/debug_objects", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (tok = strtok_r(buf, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save))
		if (!strncmp(tok, name, n) && tok[n] == '=')
			v = strtoll(tok + n + 1, NULL, 10);
	return v;
}

/* Poll get(arg) until it equals want, for at most ms; the last value. */
static long long wait_for(long long (*get)(const char *), const char *arg,
			  long long want, int ms)
{
	uint64_t end = mb_now_ns() + (uint64_t)ms * 1000000;
	long long v;

	while ((v = get(arg)) != want && mb_now_ns() < end)
		usleep(10000);
	return v;
}

static long long pins_of(const char *unused)
{
	return pinned_pages();
}

static long long vmpin_of(const char *unused)
{
	return vmpin_kb();
}

static long long wait_pins(long long want)
{
	return wait_for(pins_of, NULL, want, WAIT_MS);
}

static long long wait_vmpin(long long want)
{
	return wait_for(vmpin_of, NULL, want, WAIT_MS);
}

static long long wait_objects(const char *name, long long want)
{
	return wait_for(objects, name, want, WAIT_MS);
}

static unsigned char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t addr_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A proxied READ or WRITE of region rid at roff. */
static struct mb_cmd prw(uint64_t tag, uint32_t op, uint64_t off, uint32_t len,
			 uint32_t rid, uint64_t roff)
{
	return (struct mb_cmd){ .tag = tag, .op = op, .offset = off,
		.len = len, .proxy = MB_PROXY, .region = rid,
		.region_offset = roff };
}

/* An inline READ (data NULL) or WRITE. */
static struct mb_cmd irw(uint64_t tag, uint32_t op, uint64_t off, uint32_t len,
			 const void *data)
{
	struct mb_cmd c = { .tag = tag, .op = op, .offset = off, .len = len };

	if (op == MBATCH_OP_WRITE) {
		c.data = data;
		c.data_len = len;
	}
	return c;
}

static struct mb_cmd cp(uint64_t tag)
{
	return (struct mb_cmd){ .tag = tag, .op = MBATCH_OP_CHECKPOINT };
}

/* Submit c[0..n) in one batch and collect all of it; 0 or -errno. */
static int run(struct mb_sock *s, uint32_t sid, const struct mb_cmd *c, int n,
	       struct mb_result **r, uint32_t *nr)
{
	int ret = mb_submit(s, sid, 0, c, n, NULL);

	*r = NULL;
	*nr = 0;
	return ret ? ret : mb_collect_all(s, sid, n, 30000, r, nr);
}

/*
 * Each command of c has exactly one result, done with status 0 and bytes
 * its length; a proxied one is flagged PROXIED and (a READ) has no data,
 * an inline one is not flagged and a READ has its len of data. NULL or
 * why not.
 */
static const char *check_done(const struct mb_cmd *c, int n,
			      const struct mb_result *r, uint32_t nr)
{
	static char why[300];
	int i;

	if (nr != (uint32_t)n) {
		snprintf(why, sizeof(why), "%u results for %d commands", nr, n);
		return why;
	}
	for (i = 0; i < n; i++) {
		const struct mb_result *x = mb_find_tag(r, nr, c[i].tag);
		int px = c[i].proxy != 0, rd = c[i].op == MBATCH_OP_READ;
		uint32_t want = c[i].op == MBATCH_OP_CHECKPOINT ? 0 : c[i].len;

		if (!x) {
			snprintf(why, sizeof(why), "no result for tag %llu",
				 (unsigned long long)c[i].tag);
			return why;
		}
		if (x->outcome != MBATCH_OUTCOME_DONE || x->status ||
		    x->bytes != want) {
			snprintf(why, sizeof(why),
				 "tag %llu (%s%s): outcome %s status %d bytes %u, want done 0 %u",
				 (unsigned long long)c[i].tag,
				 px ? "proxied " : "", mb_op_name(c[i].op),
				 mb_outcome_name(x->outcome), x->status,
				 x->bytes, want);
			return why;
		}
		if (!!(x->flags & MBATCH_RESULT_F_PROXIED) != px) {
			snprintf(why, sizeof(why),
				 "tag %llu (%s%s): flags %#x",
				 (unsigned long long)c[i].tag,
				 px ? "proxied " : "", mb_op_name(c[i].op),
				 x->flags);
			return why;
		}
		if (rd && px && MB_R_HAS(x, MBATCH_RESULT_A_DATA)) {
			snprintf(why, sizeof(why),
				 "proxied read tag %llu carries %u bytes of data",
				 (unsigned long long)c[i].tag, x->data_len);
			return why;
		}
		if (rd && !px && x->data_len != c[i].len) {
			snprintf(why, sizeof(why),
				 "read tag %llu carries %u bytes, want %u",
				 (unsigned long long)c[i].tag, x->data_len,
				 c[i].len);
			return why;
		}
	}
	return NULL;
}

/* -1 if equal, else the first byte that differs. */
static long long diff_at(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return (long long)i;
	return -1;
}

/* -1 if every byte is v, else the first that is not. */
static long long not_byte_at(const void *a, unsigned char v, size_t len)
{
	const unsigned char *x = a;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != v)
			return (long long)i;
	return -1;
}

/* The kernel formats extack messages (NL_SET_ERR_MSG_FMT): 6.2 and later. */
static int kernel_formats_extack(void)
{
	unsigned int maj = 0, min = 0;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return 0;
	return maj > 6 || (maj == 6 && min >= 2);
}

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The devices and queues of every case, made once by main() (making and
 * removing a null_blk device takes a second or two in the test VM): the
 * default device, a slow one that holds every request 200 ms, for
 * commands that stay in flight, and one that a case binds in a namespace
 * of its own. Each case opens its own socket and sessions on them; each
 * uses its own part of a device.
 */
static struct {
	char nb[64], dev[128], queue[MBATCH_QUEUE_NAME_MAX];
	char nb2[64], dev2[128], q2[MBATCH_QUEUE_NAME_MAX];
	char nb3[64], dev3[128];	/* 4 KiB blocks, no queue */
	uint32_t bs;
	uint64_t capacity;
} g;

/* NULL, or why the devices could not be made. */
static const char *devices_setup(void)
{
	static char why[600];
	struct mb_queue_cfg c = { .depth = 16 };
	struct mb_queue_info qi;
	struct mb_sock s;

	if (mb_open(&s))
		return "mbatch family not found";
	why[0] = 0;
	if (mb_nullb_create(MB_NULLB_DEFAULT, g.nb, sizeof(g.nb), g.dev,
			    sizeof(g.dev))) {
		g.nb[0] = 0;
		snprintf(why, sizeof(why), "cannot create a null_blk device");
		goto out;
	}
	mb_unique(g.queue, sizeof(g.queue), "q");
	c.name = g.queue;
	c.dev = g.dev;
	if (mb_queue_new(&s, &c)) {
		g.queue[0] = 0;
		snprintf(why, sizeof(why), "QUEUE_NEW: %s", mb_strerr(&s));
		goto out;
	}
	if (mb_queue_get(&s, g.queue, &qi) || !qi.block_size) {
		snprintf(why, sizeof(why), "QUEUE_GET: %s", mb_strerr(&s));
		goto out;
	}
	g.bs = qi.block_size;
	g.capacity = qi.capacity;
	if (mb_nullb_create(SLOW_NULLB, g.nb2, sizeof(g.nb2), g.dev2,
			    sizeof(g.dev2))) {
		g.nb2[0] = 0;
		snprintf(why, sizeof(why), "cannot create the slow device");
		goto out;
	}
	mb_unique(g.q2, sizeof(g.q2), "qs");
	c = (struct mb_queue_cfg){ .name = g.q2, .dev = g.dev2,
		.depth = SLOW_DEPTH };
	if (mb_queue_new(&s, &c)) {
		g.q2[0] = 0;
		snprintf(why, sizeof(why), "QUEUE_NEW: %s", mb_strerr(&s));
		goto out;
	}
	if (mb_nullb_create("size=16 blocksize=4096", g.nb3, sizeof(g.nb3),
			    g.dev3,
			    sizeof(g.dev3))) {
		g.nb3[0] = 0;
		snprintf(why, sizeof(why), "cannot create a third device");
	}
out:
	mb_close(&s);
	return why[0] ? why : NULL;
}

/* NULL, or what could not be removed. */
static const char *devices_teardown(void)
{
	const char *why = NULL;
	struct mb_sock s;
	int live = !mb_open(&s);

	if (g.q2[0] && (!live || mb_queue_del(&s, g.q2)))
		why = "QUEUE_DEL of the slow queue failed";
	if (g.queue[0] && (!live || mb_queue_del(&s, g.queue)))
		why = "QUEUE_DEL failed";
	if (live)
		mb_close(&s);
	if (g.nb3[0] && (!mb_wait_dev_free(g.dev3, WAIT_MS) ||
			 mb_nullb_remove(g.nb3)))
		why = "the third device could not be removed";
	if (g.nb2[0] && (!mb_wait_dev_free(g.dev2, WAIT_MS) ||
			 mb_nullb_remove(g.nb2)))
		why = "the slow device could not be removed";
	if (g.nb[0] && (!mb_wait_dev_free(g.dev, WAIT_MS) ||
			mb_nullb_remove(g.nb)))
		why = "the device could not be removed";
	return why;
}

FIXTURE(region) {
	struct mb_env e;		/* the socket, and g's device */
	uint32_t sid;
	struct mb_session_info si;	/* the open reply: proxy limits */
	long long pins0, vmpin0;
	/* the slow device */
	char nb2[64], dev2[128], q2[MBATCH_QUEUE_NAME_MAX];
	uint32_t sid2;
};

FIXTURE_SETUP(region)
{
	ASSERT_LE(0, objects("region"))
		TH_LOG("no region counter in debug_objects: not the test build of this module");
	ASSERT_EQ(0, wait_objects("region", 0))
		TH_LOG("regions alive before the case");
	ASSERT_EQ(0, wait_objects("command", 0))
		TH_LOG("commands alive before the case");
	memset(&self->e, 0, sizeof(self->e));
	ASSERT_EQ(0, mb_open(&self->e.s));
	snprintf(self->e.nullb, sizeof(self->e.nullb), "%s", g.nb);
	snprintf(self->e.dev, sizeof(self->e.dev), "%s", g.dev);
	snprintf(self->e.queue, sizeof(self->e.queue), "%s", g.queue);
	self->e.bs = g.bs;
	self->e.capacity = g.capacity;
	snprintf(self->nb2, sizeof(self->nb2), "%s", g.nb2);
	snprintf(self->dev2, sizeof(self->dev2), "%s", g.dev2);
	snprintf(self->q2, sizeof(self->q2), "%s", g.q2);
	ASSERT_EQ(0, mb_session_open_h(&self->e.s, self->e.queue, NULL, 0,
				       &self->sid, NULL, &self->si))
		TH_LOG("SESSION_OPEN: %s", mb_strerr(&self->e.s));
	self->pins0 = pinned_pages();
	ASSERT_LE(0, self->pins0) TH_LOG("no nr_foll_pin_* in /proc/vmstat");
	self->vmpin0 = vmpin_kb();
	ASSERT_LE(0, self->vmpin0) TH_LOG("no VmPin in /proc/self/status");
}

FIXTURE_TEARDOWN(region)
{
	struct mb_region_info ri[4];
	const char *err;
	struct mb_sock s;

	if (self->sid2)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid2))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	if (self->sid && self->e.s.fd >= 0)
		EXPECT_EQ(0, mb_session_close(&self->e.s, self->sid))
			TH_LOG("SESSION_CLOSE: %s", mb_strerr(&self->e.s));
	/* closing the socket releases the regions it still has */
	err = mb_env_teardown(&self->e);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	/* every region is gone, and every page one pinned */
	ASSERT_EQ(0, mb_open(&s));
	EXPECT_EQ(0, mb_region_dump(&s, ri, 4)) TH_LOG("regions left");
	mb_close(&s);
	EXPECT_EQ(0, wait_objects("region", 0)) TH_LOG("regions not freed");
	EXPECT_EQ(self->pins0, wait_pins(self->pins0))
		TH_LOG("pinned pages not back to what they were");
	EXPECT_EQ(self->vmpin0, wait_vmpin(self->vmpin0));
}

/* A session on the queue of the device that holds every request 200 ms. */
static const char *slow_setup(FIXTURE_DATA(region) *self)
{
	static char why[600];

	if (mb_session_open(&self->e.s, self->q2, 0, &self->sid2)) {
		snprintf(why, sizeof(why), "SESSION_OPEN: %s",
			 mb_strerr(&self->e.s));
		return why;
	}
	return NULL;
}

/* The device's DMA alignment as the block layer exports it, or 512. */
static uint32_t dma_align(const char *nullb)
{
	char p[256];
	unsigned int v;
	FILE *f;

	snprintf(p, sizeof(p), "/sys/block/%s/queue/dma_alignment", nullb);
	f = fopen(p, "r");
	if (!f)
		return 512;
	if (fscanf(f, "%u", &v) != 1)
		v = 511;
	fclose(f);
	return v + 1;
}

/* Both reports of a region say the same. */
static int region_eq(const struct mb_region_info *a,
		     const struct mb_region_info *b)
{
	return a->id == b->id && a->addr == b->addr && a->len == b->len &&
	       a->flags == b->flags && a->users == b->users &&
	       a->portid == b->portid && a->present == b->present;
}

/* A region in a dump of up to n; NULL if absent. */
static const struct mb_region_info *find_region(const struct mb_region_info *a,
						int n, uint32_t id)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i].id == id)
			return &a[i];
	return NULL;
}

TEST_F(region, limits_and_objects_reported)
{
	size_t len = 2 * pg();
	unsigned char *p = map_anon(2 * len);
	struct mb_region_info ri, ro, got, all[16];
	const struct mb_region_info *x;
	struct mb_session_info si;
	struct mb_limits l;
	uint64_t feat = 0;
	uint32_t ver = 0, align = dma_align(self->e.nullb);
	int n;

	ASSERT_NE(NULL, p);
	memset(p, 0x11, 2 * len);
	ASSERT_EQ(0, mb_version_limits(&self->e.s, &ver, NULL, 0, &feat, &l))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_TRUE(feat & MBATCH_FEAT_REGIONS) TH_LOG("features %#llx",
						       (unsigned long long)feat);
	EXPECT_EQ(MBATCH_MAX_PROXY_IO_LEN, l.max_proxy_io);
	/* a local session: zero copy up to 1 MiB, the device's alignment */
	EXPECT_EQ(MBATCH_MAX_PROXY_IO_LEN, self->si.max_proxy_io)
		TH_LOG("SESSION_OPEN reply");
	EXPECT_EQ(align, self->si.proxy_align) TH_LOG("SESSION_OPEN reply");
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(MBATCH_MAX_PROXY_IO_LEN, si.max_proxy_io);
	EXPECT_EQ(align, si.proxy_align);
	TH_LOG("proxy alignment %u (device DMA alignment %u)", si.proxy_align,
	       align);

	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), len, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p + len), len,
				   MBATCH_REGION_F_READONLY, &ro))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(2, objects("region"));
	EXPECT_EQ(0x3fU, ri.present) TH_LOG("REGION_NEW reply attributes %#x",
					    ri.present);
	EXPECT_EQ(addr_of(p), ri.addr);
	EXPECT_EQ(len, ri.len);
	EXPECT_EQ(0, ri.flags);
	EXPECT_EQ(0, ri.users);
	EXPECT_EQ(self->e.s.portid, ri.portid);
	EXPECT_NE(ri.id, ro.id);
	EXPECT_EQ(MBATCH_REGION_F_READONLY, ro.flags);
	EXPECT_EQ(addr_of(p + len), ro.addr);
	/* four pages pinned, 16 kB in VmPin */
	EXPECT_EQ(self->pins0 + 4, pinned_pages());
	EXPECT_EQ(self->vmpin0 + (long long)(2 * len / KIB), vmpin_kb());

	ASSERT_EQ(0, mb_region_get(&self->e.s, ri.id, &got))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_TRUE(region_eq(&ri, &got))
		TH_LOG("REGION_GET differs from the REGION_NEW reply");
	n = mb_region_dump(&self->e.s, all, 16);
	ASSERT_EQ(2, n) TH_LOG("%s", mb_strerr(&self->e.s));
	x = find_region(all, n, ro.id);
	ASSERT_NE(NULL, x);
	EXPECT_TRUE(region_eq(&ro, x));
	x = find_region(all, n, ri.id);
	ASSERT_NE(NULL, x);
	EXPECT_TRUE(region_eq(&ri, x));

	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(-ENOENT, mb_region_get(&self->e.s, ri.id, &got));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NO_REGION))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(-ENOENT, mb_region_del(&self->e.s, ri.id));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NO_REGION))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* unused: unpinned and uncharged before the delete returns */
	EXPECT_EQ(1, mb_region_dump(&self->e.s, all, 16));
	EXPECT_EQ(self->pins0 + 2, pinned_pages());
	EXPECT_EQ(self->vmpin0 + (long long)(len / KIB), vmpin_kb());
	EXPECT_EQ(1, objects("region"));

	/* 4 KiB blocks: a region offset is whole blocks, whatever the DMA */
	{
		struct mb_queue_cfg qc = { .dev = g.dev3 };
		struct mb_cmd c = prw(1, MBATCH_OP_WRITE, 0, 4096, ro.id, 512);
		uint32_t want = dma_align(g.nb3), sid4;
		struct mb_session_info s4;
		struct mb_result *r;
		char q4[MBATCH_QUEUE_NAME_MAX];
		uint32_t nr;

		if (want < 4096)
			want = 4096;
		mb_unique(q4, sizeof(q4), "q4k");
		qc.name = q4;
		ASSERT_EQ(0, mb_queue_new(&self->e.s, &qc))
			TH_LOG("%s", mb_strerr(&self->e.s));
		ASSERT_EQ(0, mb_session_open_h(&self->e.s, q4, NULL, 0, &sid4,
					       NULL, &s4))
			TH_LOG("%s", mb_strerr(&self->e.s));
		EXPECT_EQ(want, s4.proxy_align);
		EXPECT_EQ(MBATCH_MAX_PROXY_IO_LEN, s4.max_proxy_io);
		EXPECT_EQ(-EINVAL, mb_submit(&self->e.s, sid4, 0, &c, 1, NULL));
		EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_REGION_UNALIGNED))
			TH_LOG("%s", mb_strerr(&self->e.s));
		c.region_offset = 4096;
		EXPECT_EQ(0, run(&self->e.s, sid4, &c, 1, &r, &nr))
			TH_LOG("%s", mb_strerr(&self->e.s));
		EXPECT_EQ(NULL, check_done(&c, 1, r, nr));
		mb_results_free(r, nr);
		EXPECT_EQ(0, mb_session_close(&self->e.s, sid4));
		EXPECT_EQ(0, mb_queue_del(&self->e.s, q4));
		EXPECT_TRUE(mb_wait_dev_free(g.dev3, WAIT_MS));
	}
	ASSERT_EQ(0, mb_region_del(&self->e.s, ro.id));
	EXPECT_EQ(0, mb_region_dump(&self->e.s, all, 16));
	EXPECT_EQ(self->pins0, pinned_pages());
	EXPECT_EQ(self->vmpin0, vmpin_kb());
	EXPECT_EQ(0, objects("region"));
	munmap(p, 2 * len);
}

/*
 * 1 MiB written from a region reads back the same into a region, through
 * 32 inline READs and by O_DIRECT pread; 1 MiB written inline and by
 * pwrite reads back the same into a region. A proxied READ writes its
 * 1 MiB and nothing around it. Every write ran once.
 */
TEST_F(region, write_read_through_region_inline_and_device)
{
	const size_t rlen = 4 * MIB, len = PROXY_MAX, io = 32 * KIB;
	const uint64_t dev_w = 1 * MIB, dev_i = 8 * MIB, dev_d = 12 * MIB;
	unsigned char *p = map_anon(rlen), *buf = malloc(len);
	struct mb_cmd c[2 + 32 + 2];
	struct mb_region_info ri;
	struct mb_result *r;
	const struct mb_result *x;
	uint32_t nr, i, n = 0;
	long long w0, d;
	const char *why;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, buf);
	mb_pattern(p, len, 1, dev_w);
	memset(p + 2 * MIB - pg(), 0x5a, len + 2 * pg());
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), rlen, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(self->pins0 + (long long)(rlen / pg()), pinned_pages());
	EXPECT_EQ(self->vmpin0 + (long long)(rlen / KIB), vmpin_kb());
	EXPECT_EQ(1, objects("region"));

	/* region -> device -> region, inline reads, pread */
	c[n++] = prw(1, MBATCH_OP_WRITE, dev_w, len, ri.id, 0);
	c[n++] = cp(2);
	c[n++] = prw(3, MBATCH_OP_READ, dev_w, len, ri.id, 2 * MIB);
	for (i = 0; i < len / io; i++)
		c[n++] = irw(100 + i, MBATCH_OP_READ, dev_w + i * io, io, NULL);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_LE(0, w0);
	ASSERT_EQ(0, run(&self->e.s, self->sid, c, n, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(c, n, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	EXPECT_EQ((long long)(len / 512), mb_sectors_written(self->e.nullb) - w0)
		TH_LOG("one proxied write of 1 MiB");
	d = diff_at(p + 2 * MIB, p, len);
	EXPECT_EQ(-1, d) TH_LOG("proxied read differs at +%lld", d);
	d = not_byte_at(p + 2 * MIB - pg(), 0x5a, pg());
	EXPECT_EQ(-1, d) TH_LOG("proxied read wrote before its payload");
	d = not_byte_at(p + 3 * MIB, 0x5a, pg());
	EXPECT_EQ(-1, d) TH_LOG("proxied read wrote after its payload");
	for (i = 0; i < len / io; i++) {
		x = mb_find_tag(r, nr, 100 + i);
		if (!x || x->data_len != io)
			continue;
		d = diff_at(x->data, p + i * io, io);
		EXPECT_EQ(-1, d) TH_LOG("inline read %u differs at +%lld", i, d);
	}
	mb_results_free(r, nr);
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, dev_w, buf, len));
	d = diff_at(buf, p, len);
	EXPECT_EQ(-1, d) TH_LOG("the device differs at +%lld", d);

	/* inline writes and pwrite -> device -> region */
	n = 0;
	mb_pattern(buf, len, 2, dev_i);
	for (i = 0; i < len / io; i++)
		c[n++] = irw(200 + i, MBATCH_OP_WRITE, dev_i + i * io, io,
			     buf + i * io);
	c[n++] = cp(300);
	c[n++] = prw(301, MBATCH_OP_READ, dev_i, len, ri.id, 1 * MIB);
	ASSERT_EQ(0, run(&self->e.s, self->sid, c, n, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(c, n, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	mb_results_free(r, nr);
	d = diff_at(p + 1 * MIB, buf, len);
	EXPECT_EQ(-1, d) TH_LOG("proxied read of inline writes differs at +%lld",
				d);
	mb_pattern(buf, len, 3, dev_d);
	ASSERT_EQ(0, mb_pwrite_direct(self->e.dev, dev_d, buf, len));
	c[0] = prw(400, MBATCH_OP_READ, dev_d, len, ri.id, 3 * MIB);
	ASSERT_EQ(0, run(&self->e.s, self->sid, c, 1, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(c, 1, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	mb_results_free(r, nr);
	d = diff_at(p + 3 * MIB, buf, len);
	EXPECT_EQ(-1, d) TH_LOG("proxied read of pwrite differs at +%lld", d);

	ASSERT_EQ(0, mb_region_get(&self->e.s, ri.id, &ri));
	EXPECT_EQ(0, ri.users) TH_LOG("every command completed");
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	EXPECT_EQ(self->pins0, pinned_pages());
	EXPECT_EQ(self->vmpin0, vmpin_kb());
	free(buf);
	munmap(p, rlen);
}

/*
 * 1 MiB at a region offset of one DMA alignment unit spans 257 pages; read
 * back to an offset one unit short of a page boundary. The partly used
 * pages at both ends keep what the payload does not cover.
 */
TEST_F(region, unaligned_offset_257_pages)
{
	const size_t rlen = 4 * MIB, len = PROXY_MAX;
	const uint32_t align = self->si.proxy_align;
	const uint64_t dev = 20 * MIB, rw = align, rr = 2 * MIB + pg() - align;
	unsigned char *p = map_anon(rlen), *buf = malloc(len);
	struct mb_region_info ri;
	struct mb_result *r;
	struct mb_cmd c[3];
	uint32_t nr;
	long long w0, d;
	const char *why;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, buf);
	ASSERT_GT(align, 1);
	ASSERT_LT(align, pg()) TH_LOG("no unaligned offset to try");
	ASSERT_EQ(0, pg() % align);
	if (pg() == 4096)
		ASSERT_EQ(257, (rw % pg() + len + pg() - 1) / pg());
	memset(p, 0xa5, rlen);
	mb_pattern(p + rw, len, 4, dev);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), rlen, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	c[0] = prw(1, MBATCH_OP_WRITE, dev, len, ri.id, rw);
	c[1] = cp(2);
	c[2] = prw(3, MBATCH_OP_READ, dev, len, ri.id, rr);
	w0 = mb_sectors_written(self->e.nullb);
	ASSERT_EQ(0, run(&self->e.s, self->sid, c, 3, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(c, 3, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	mb_results_free(r, nr);
	EXPECT_EQ((long long)(len / 512), mb_sectors_written(self->e.nullb) - w0);
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, dev, buf, len));
	d = diff_at(buf, p + rw, len);
	EXPECT_EQ(-1, d) TH_LOG("the device differs at +%lld", d);
	d = diff_at(p + rr, p + rw, len);
	EXPECT_EQ(-1, d) TH_LOG("proxied read differs at +%lld", d);
	/* the rest of the first and last page of each payload */
	d = not_byte_at(p, 0xa5, rw);
	EXPECT_EQ(-1, d) TH_LOG("the write's first page changed at +%lld", d);
	d = not_byte_at(p + rr - pg(), 0xa5, pg());
	EXPECT_EQ(-1, d) TH_LOG("the read wrote %lld bytes before its offset",
				pg() - d);
	d = not_byte_at(p + rr + len, 0xa5, pg());
	EXPECT_EQ(-1, d) TH_LOG("the read wrote past its end at +%lld", d);
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	free(buf);
	munmap(p, rlen);
}

/*
 * Inline and proxied messages in one batch and across checkpoints (two of
 * them in the first batch, one more in a second batch submitted behind
 * it): each epoch's reads see the writes of the epochs before, whichever
 * way either went; the barrier holds over the module's timestamps.
 */
TEST_F(region, mixed_batches_across_checkpoints)
{
	const size_t rlen = 2 * MIB;
	const uint32_t k32 = 32 * KIB;
	unsigned char *p = map_anon(rlen), *ia = malloc(4 * k32);
	unsigned char *dev = malloc(MIB);
	struct mb_region_info ri;
	struct mb_cmd c[16];
	struct mb_result *r = NULL;
	const struct mb_result *x;
	uint32_t nr = 0, i, n1, n;
	uint64_t epoch[16];
	long long d;
	const char *why;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, ia);
	ASSERT_NE(NULL, dev);
	mb_pattern(p, 256 * KIB, 10, 1 * MIB);			/* B0 */
	mb_pattern(p + 256 * KIB, 128 * KIB, 11, 1536 * KIB);	/* B1 */
	mb_pattern(p + 512 * KIB, 64 * KIB, 12, 3 * MIB);	/* C */
	mb_pattern(ia, k32, 13, 0);				/* A0 */
	mb_pattern(ia + k32, k32, 14, 64 * KIB);		/* A1 */
	mb_pattern(ia + 2 * k32, k32, 15, 5 * MIB);		/* E */
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), rlen, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	n = 0;
	/* epoch 0: writes, both kinds, interleaved */
	c[n++] = irw(1, MBATCH_OP_WRITE, 0, k32, ia);
	c[n++] = prw(2, MBATCH_OP_WRITE, 1 * MIB, 256 * KIB, ri.id, 0);
	c[n++] = irw(3, MBATCH_OP_WRITE, 64 * KIB, k32, ia + k32);
	c[n++] = prw(4, MBATCH_OP_WRITE, 1536 * KIB, 128 * KIB, ri.id,
		     256 * KIB);
	c[n++] = (struct mb_cmd){ .tag = 5, .op = MBATCH_OP_CHECKPOINT,
		.flags = MBATCH_MSG_F_DURABLE };
	/* epoch 1: each read the other way than its write went */
	c[n++] = prw(6, MBATCH_OP_READ, 0, k32, ri.id, 1 * MIB);
	c[n++] = irw(7, MBATCH_OP_READ, 1 * MIB, k32, NULL);
	c[n++] = prw(8, MBATCH_OP_READ, 1536 * KIB, 128 * KIB, ri.id,
		     1 * MIB + 64 * KIB);
	c[n++] = irw(9, MBATCH_OP_READ, 64 * KIB, k32, NULL);
	c[n++] = prw(10, MBATCH_OP_WRITE, 3 * MIB, 64 * KIB, ri.id, 512 * KIB);
	c[n++] = cp(11);
	n1 = n;
	/* epoch 2, a second batch */
	c[n++] = irw(12, MBATCH_OP_READ, 3 * MIB, k32, NULL);
	c[n++] = prw(13, MBATCH_OP_READ, 3 * MIB, 64 * KIB, ri.id,
		     1536 * KIB);
	c[n++] = prw(14, MBATCH_OP_WRITE, 4 * MIB, 256 * KIB, ri.id, 0);
	c[n++] = irw(15, MBATCH_OP_WRITE, 5 * MIB, k32, ia + 2 * k32);
	c[n++] = cp(16);
	for (i = 0; i < n; i++)
		epoch[i] = i < 5 ? 0 : i < n1 ? 1 : 2;
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c, n1, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid, 0, c + n1, n - n1, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid, n, 30000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(c, n, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	why = mb_check_barrier(r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	for (i = 0; i < n; i++) {
		x = mb_find_tag(r, nr, c[i].tag);
		ASSERT_NE(NULL, x);
		EXPECT_EQ(epoch[i], x->epoch) TH_LOG("tag %llu",
						     (unsigned long long)c[i].tag);
		EXPECT_EQ(c[i].op, x->op);
	}
	/* epoch 1 saw epoch 0, epoch 2 saw epoch 1 */
	d = diff_at(p + 1 * MIB, ia, k32);
	EXPECT_EQ(-1, d) TH_LOG("proxied read of inline write A0 at +%lld", d);
	x = mb_find_tag(r, nr, 7);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(k32, x->data_len);
	EXPECT_EQ(-1, diff_at(x->data, p, k32))
		TH_LOG("inline read of proxied write B0");
	d = diff_at(p + 1 * MIB + 64 * KIB, p + 256 * KIB, 128 * KIB);
	EXPECT_EQ(-1, d) TH_LOG("proxied read of proxied write B1 at +%lld", d);
	x = mb_find_tag(r, nr, 9);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(k32, x->data_len);
	EXPECT_EQ(-1, diff_at(x->data, ia + k32, k32))
		TH_LOG("inline read of inline write A1");
	x = mb_find_tag(r, nr, 12);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(k32, x->data_len);
	EXPECT_EQ(-1, diff_at(x->data, p + 512 * KIB, k32))
		TH_LOG("inline read of proxied write C");
	d = diff_at(p + 1536 * KIB, p + 512 * KIB, 64 * KIB);
	EXPECT_EQ(-1, d) TH_LOG("proxied read of proxied write C at +%lld", d);
	mb_results_free(r, nr);
	/* and the device holds every write */
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 0, dev, 96 * KIB));
	EXPECT_EQ(-1, diff_at(dev, ia, k32));
	EXPECT_EQ(-1, diff_at(dev + 64 * KIB, ia + k32, k32));
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 1 * MIB, dev, 640 * KIB));
	EXPECT_EQ(-1, diff_at(dev, p, 256 * KIB));
	EXPECT_EQ(-1, diff_at(dev + 512 * KIB, p + 256 * KIB, 128 * KIB));
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 3 * MIB, dev, 64 * KIB));
	EXPECT_EQ(-1, diff_at(dev, p + 512 * KIB, 64 * KIB));
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 4 * MIB, dev, 256 * KIB));
	EXPECT_EQ(-1, diff_at(dev, p, 256 * KIB));
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 5 * MIB, dev, k32));
	EXPECT_EQ(-1, diff_at(dev, ia + 2 * k32, k32));
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	free(ia);
	free(dev);
	munmap(p, rlen);
}

struct bad_msg {
	const char *name;
	struct mb_cmd c;
	int err;		/* positive errno */
	const char *x;		/* extack text */
	int miss;		/* NLMSGERR_ATTR_MISS_TYPE, 0: none */
};

static unsigned char zbuf[4096];

/*
 * Every bad proxied message, as message 1 of a batch between two good
 * ones: refused whole with its errno and text, the extack offset inside
 * that message (and the text "message 1: ..." on 6.2+), a missing
 * attribute named. Nothing is queued, no region is used, and the session
 * works on.
 */
TEST_F(region, bad_messages_refused_whole)
{
	const size_t rlen = 2 * MIB, rolen = 2 * pg();
	const uint32_t align = self->si.proxy_align;
	unsigned char *p = map_anon(rlen), *q = map_anon(rolen + pg());
	const uint64_t end = self->e.capacity;
	struct mb_region_info ri, ro, rd, rs, got;
	uint32_t rw_id, ro_id, gone, unknown, other;
	struct mb_session_info si;
	struct mb_result *r;
	int fmt = kernel_formats_extack(), fails = 0;
	uint32_t nr;
	struct mb_sock s2;
	size_t i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	ASSERT_GT(align, 1) TH_LOG("a local session aligns to the device");
	memset(p, 0x22, rlen);
	memset(q, 0x33, rolen + pg());
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), rlen, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(q), rolen,
				   MBATCH_REGION_F_READONLY, &ro))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(q + rolen), pg(), 0,
				   &rd));
	ASSERT_EQ(0, mb_region_del(&self->e.s, rd.id));
	ASSERT_EQ(0, mb_open(&s2));
	ASSERT_EQ(0, mb_region_new(&s2, addr_of(q), rolen, 0, &rs))
		TH_LOG("%s", mb_strerr(&s2));
	rw_id = ri.id;
	ro_id = ro.id;
	gone = rd.id;
	other = rs.id;
	unknown = 0x7ffffff0;
	ASSERT_EQ(-ENOENT, mb_region_get(&self->e.s, unknown, &got));
	ASSERT_EQ(-ENOENT, mb_region_get(&self->e.s, gone, &got));

	{
	const struct bad_msg t[] = {
	{ "region offset + len wraps to 0",
	  prw(1, MBATCH_OP_READ, 0, 512, rw_id, UINT64_MAX - 511),
	  ERANGE, X_REGION_BEYOND, 0 },
	{ "region offset + len wraps past 0",
	  prw(1, MBATCH_OP_WRITE, 0, 4096, rw_id, UINT64_MAX - 511),
	  ERANGE, X_REGION_BEYOND, 0 },
	{ "region offset + len overflows to a small value",
	  prw(1, MBATCH_OP_READ, 0, PROXY_MAX, rw_id,
	      (UINT64_MAX - PROXY_MAX + 1 + 4096) & ~(uint64_t)511),
	  ERANGE, X_REGION_BEYOND, 0 },
	{ "payload one block past the region's end",
	  prw(1, MBATCH_OP_READ, 0, 1024, rw_id, rlen - 512),
	  ERANGE, X_REGION_BEYOND, 0 },
	{ "payload starting at the region's end",
	  prw(1, MBATCH_OP_WRITE, 0, 512, rw_id, rlen),
	  ERANGE, X_REGION_BEYOND, 0 },
	{ "1 MiB from the middle of a 2-page region",
	  prw(1, MBATCH_OP_WRITE, 0, PROXY_MAX, ro_id, pg()),
	  ERANGE, X_REGION_BEYOND, 0 },
	{ "an id never registered",
	  prw(1, MBATCH_OP_WRITE, 0, 512, unknown, 0), ENOENT, X_NO_REGION, 0 },
	{ "a deleted region",
	  prw(1, MBATCH_OP_READ, 0, 512, gone, 0), ENOENT, X_NO_REGION, 0 },
	{ "another socket's region",
	  prw(1, MBATCH_OP_WRITE, 0, 512, other, 0), EPERM, X_REGION_SOCKET, 0 },
	{ "region offset not aligned for the device",
	  prw(1, MBATCH_OP_WRITE, 0, 512, rw_id, 100),
	  EINVAL, X_REGION_UNALIGNED, 0 },
	{ "region offset half the alignment",
	  prw(1, MBATCH_OP_READ, 0, 512, rw_id, pg() + align / 2),
	  EINVAL, X_REGION_UNALIGNED, 0 },
	{ "a read into a read-only region",
	  prw(1, MBATCH_OP_READ, 0, 512, ro_id, 0), EACCES, X_REGION_RO, 0 },
	{ "data and a region",
	  { .tag = 1, .op = MBATCH_OP_WRITE, .offset = 0, .len = 512,
	    .data = zbuf, .data_len = 512, .proxy = MB_PROXY,
	    .region = rw_id }, EINVAL, X_REGION_AND_DATA, 0 },
	{ "a region on a flush",
	  { .tag = 1, .op = MBATCH_OP_FLUSH, .proxy = MB_PROXY,
	    .region = rw_id }, EINVAL, X_REGION_OP, 0 },
	{ "a region on a checkpoint",
	  { .tag = 1, .op = MBATCH_OP_CHECKPOINT, .proxy = MB_PROXY,
	    .region = rw_id }, EINVAL, X_REGION_OP, 0 },
	{ "a region on a discard",
	  { .tag = 1, .op = MBATCH_OP_DISCARD, .offset = 0, .len = 4096,
	    .proxy = MB_PROXY, .region = rw_id }, EINVAL, X_REGION_OP, 0 },
	{ "a region on write-zeroes",
	  { .tag = 1, .op = MBATCH_OP_WRITE_ZEROES, .offset = 0, .len = 4096,
	    .proxy = MB_PROXY, .region = rw_id }, EINVAL, X_REGION_OP, 0 },
	{ "a region without an offset",
	  { .tag = 1, .op = MBATCH_OP_WRITE, .offset = 0, .len = 512,
	    .proxy = MB_PROXY_REGION, .region = rw_id },
	  EINVAL, X_REGION_NO_OFFSET, MBATCH_MSG_A_REGION_OFFSET },
	{ "a read with a region and no offset",
	  { .tag = 1, .op = MBATCH_OP_READ, .offset = 0, .len = 512,
	    .proxy = MB_PROXY_REGION, .region = rw_id },
	  EINVAL, X_REGION_NO_OFFSET, MBATCH_MSG_A_REGION_OFFSET },
	{ "a region offset without a region",
	  { .tag = 1, .op = MBATCH_OP_READ, .offset = 0, .len = 512,
	    .proxy = MB_PROXY_OFFSET, .region_offset = 0 },
	  EINVAL, X_REGION_NO_REGION, MBATCH_MSG_A_REGION },
	{ "one block over the proxied maximum",
	  prw(1, MBATCH_OP_WRITE, 0, PROXY_MAX + 512, rw_id, 0),
	  EINVAL, X_LEN_MAX_PROXY, 0 },
	{ "proxied, beyond the device",
	  prw(1, MBATCH_OP_WRITE, end - 512, 1024, rw_id, 0),
	  ERANGE, X_BEYOND, 0 },
	{ "proxied, device offset not block aligned",
	  prw(1, MBATCH_OP_READ, 100, 512, rw_id, 0),
	  EINVAL, X_OFF_UNALIGNED, 0 },
	{ "proxied, length not block aligned",
	  prw(1, MBATCH_OP_WRITE, 0, 100, rw_id, 0),
	  EINVAL, X_LEN_UNALIGNED, 0 },
	{ "proxied, length zero",
	  prw(1, MBATCH_OP_WRITE, 0, 0, rw_id, 0), EINVAL, X_LEN_ZERO, 0 },
	};
	const struct mb_cmd good_w = irw(100, MBATCH_OP_WRITE, 0, 512, zbuf);
	const struct mb_cmd good_r = prw(101, MBATCH_OP_READ, 0, 512, rw_id, 0);

	TH_LOG("%zu bad messages; texts name the message: %s",
	       ARRAY_SIZE(t), fmt ? "yes (6.2+)" : "no");
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct mb_sock *s = &self->e.s;
		const char *m;
		size_t ms, me;
		struct mb_req req;
		char why[160] = "";
		int ret;

		mb_req_init(&req, s, MBATCH_CMD_SUBMIT, 0);
		mb_put_u32(&req, MBATCH_A_SESSION_ID, self->sid);
		mb_put_msg(&req, &good_w);
		ms = mb_put_msg(&req, &t[i].c);
		me = req.len;
		mb_put_msg(&req, &good_r);
		ret = mb_transact(s, &req, NULL, NULL);
		mb_req_free(&req);
		m = s->err.msg;
		if (!strncmp(m, "mbatch: ", 8))
			m += 8;
		if (ret != -t[i].err)
			snprintf(why, sizeof(why), "errno %d, want -%d", ret,
				 t[i].err);
		else if (!strstr(m, t[i].x))
			snprintf(why, sizeof(why), "text lacks \"%s\"", t[i].x);
		else if (!s->err.has_off || s->err.off < ms ||
			 s->err.off >= me)
			snprintf(why, sizeof(why),
				 "offset %s%u not in message 1 [%zu, %zu)",
				 s->err.has_off ? "" : "none ", s->err.off,
				 ms, me);
		else if (fmt && strncmp(m, "message 1: ", 11))
			snprintf(why, sizeof(why),
				 "text does not start \"message 1: \"");
		else if (t[i].miss && (!s->err.has_miss ||
				       s->err.miss_type != (uint32_t)t[i].miss))
			snprintf(why, sizeof(why), "missing type %s%u, want %d",
				 s->err.has_miss ? "" : "none ",
				 s->err.miss_type, t[i].miss);
		else if (!t[i].miss && s->err.has_miss)
			snprintf(why, sizeof(why), "missing type %u, want none",
				 s->err.miss_type);
		if (why[0]) {
			fails++;
			TH_LOG("\"%s\": %s; got %s", t[i].name, why,
			       mb_strerr(s));
		}
	}
	EXPECT_EQ(0, fails) TH_LOG("%d of %zu bad messages not refused as specified",
				   fails, ARRAY_SIZE(t));

	/* nothing was queued, no region is in use */
	ASSERT_EQ(0, mb_session_get(&self->e.s, self->sid, &si));
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_SUBMITTED]);
	EXPECT_EQ(0, si.stats.v[MBATCH_STATS_A_QUEUED]);
	EXPECT_EQ(0, si.epoch);
	ASSERT_EQ(0, mb_region_get(&self->e.s, rw_id, &got));
	EXPECT_EQ(0, got.users);
	ASSERT_EQ(0, mb_region_get(&self->e.s, ro_id, &got));
	EXPECT_EQ(0, got.users);
	EXPECT_EQ(0, objects("command"));

	/* the good messages alone, and a read-only region's limits */
	{
		struct mb_cmd ok[4] = {
			good_w, good_r,
			prw(102, MBATCH_OP_WRITE, 4096, rolen, ro_id, 0),
			prw(103, MBATCH_OP_READ, 8192, 512, rw_id,
			    rlen - 512),
		};
		const char *w;

		ASSERT_EQ(0, run(&self->e.s, self->sid, ok, 4, &r, &nr))
			TH_LOG("%s", mb_strerr(&self->e.s));
		w = check_done(ok, 4, r, nr);
		EXPECT_EQ(NULL, w) TH_LOG("%s", w);
		mb_results_free(r, nr);
	}
	}
	ASSERT_EQ(0, mb_region_del(&self->e.s, rw_id));
	ASSERT_EQ(0, mb_region_del(&self->e.s, ro_id));
	mb_close(&s2);
	munmap(p, rlen);
	munmap(q, rolen + pg());
}

/*
 * A region is its socket's: another socket can neither use nor delete it.
 * It is its process's: the same socket used by a child process cannot
 * use it. It is its namespace's: another namespace does not see it, and
 * the id of a region there is unknown here.
 */
TEST_F(region, socket_process_and_namespace)
{
	const size_t rlen = 64 * KIB;
	unsigned char *p = map_anon(rlen);
	struct mb_region_info ri, got, all[8];
	struct mb_cmd w = { 0 };
	int tonet[2], fromnet[2], fails = 0;
	uint32_t ids[8], other_id = 0;
	struct mb_sock s2;
	char b = 0;
	pid_t pid;
	int n;

	ASSERT_NE(NULL, p);
	mb_pattern(p, rlen, 20, 0);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), rlen, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	w = prw(1, MBATCH_OP_WRITE, 0, rlen, ri.id, 0);

	/* another socket: sees it (same namespace), may not delete it */
	ASSERT_EQ(0, mb_open(&s2));
	ASSERT_EQ(0, mb_region_get(&s2, ri.id, &got)) TH_LOG("%s",
							     mb_strerr(&s2));
	EXPECT_EQ(self->e.s.portid, got.portid);
	EXPECT_EQ(-EPERM, mb_region_del(&s2, ri.id));
	EXPECT_TRUE(mb_contains(s2.err.msg, X_REGION_SOCKET))
		TH_LOG("%s", mb_strerr(&s2));
	/* ... nor use it, not even on a session it drives by handle */
	EXPECT_EQ(-EPERM, mb_submit(&s2, self->sid, 0, &w, 1, NULL));
	EXPECT_TRUE(mb_contains(s2.err.msg, X_REGION_SOCKET))
		TH_LOG("%s", mb_strerr(&s2));
	mb_close(&s2);

	/* the socket shared with a child process: not the child's region */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ret = mb_submit(&self->e.s, self->sid, 0, &w, 1, NULL);

		CHK(ret == -EPERM, "a child's submit on its parent's region: %d (%s)",
		    ret, mb_strerr(&self->e.s));
		CHK(mb_contains(self->e.s.err.msg, X_REGION_PROCESS),
		    "extack \"%s\" lacks \"%s\"", self->e.s.err.msg,
		    X_REGION_PROCESS);
		_exit(fails);
	}
	EXPECT_EQ(0, child_status(pid));

	/* another network namespace */
	ASSERT_EQ(0, pipe(tonet));
	ASSERT_EQ(0, pipe(fromnet));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned char *cpm = map_anon(8 * pg());
		struct mb_region_info c, cg[8];
		struct mb_sock s;
		int ret, k, nc;

		if (!cpm || unshare(CLONE_NEWNET))
			_exit(101);
		if (mb_open(&s))
			_exit(102);
		nc = mb_region_dump(&s, cg, 8);
		CHK(nc == 0, "%d regions visible in a new namespace", nc);
		ret = mb_region_get(&s, ri.id, &c);
		CHK(ret == -ENOENT, "region-get of the first namespace's region: %d (%s)",
		    ret, mb_strerr(&s));
		CHK(mb_contains(s.err.msg, X_NO_REGION), "extack \"%s\"",
		    s.err.msg);
		ret = mb_region_del(&s, ri.id);
		CHK(ret == -ENOENT, "region-del of the first namespace's region: %d (%s)",
		    ret, mb_strerr(&s));
		/* regions of our own, until one has an id unknown there */
		for (k = 0; k < 8; k++) {
			ret = mb_region_new(&s, addr_of(cpm + k * pg()), pg(), 0,
					    &c);
			CHK(ret == 0, "region-new: %s", mb_strerr(&s));
			if (ret)
				break;
			CHK(c.portid == s.portid, "portid %u, want %u",
			    c.portid, s.portid);
			if (write(fromnet[1], &c.id, sizeof(c.id)) !=
			    sizeof(c.id) || read(tonet[0], &b, 1) != 1)
				_exit(103);
			if (b == 'd')
				break;
		}
		nc = mb_region_dump(&s, cg, 8);
		CHK(nc == k + 1, "%d regions in the dump here, %d made", nc,
		    k + 1);
		/* until the first namespace has looked */
		if (read(tonet[0], &b, 1) != 1)
			_exit(104);
		mb_close(&s);
		_exit(fails);
	}
	n = 0;
	while (n < 8 && read(fromnet[0], &ids[n], sizeof(ids[n])) ==
	       sizeof(ids[n])) {
		int ours = ids[n] == ri.id;

		b = ours ? 'n' : 'd';
		if (!ours)
			other_id = ids[n];
		ASSERT_EQ(1, write(tonet[1], &b, 1));
		n++;
		if (!ours)
			break;
	}
	ASSERT_NE(0, n) TH_LOG("no region from the other namespace");
	if (b == 'd') {
		struct mb_cmd o = prw(2, MBATCH_OP_WRITE, 0, pg(), other_id, 0);

		EXPECT_EQ(-ENOENT, mb_region_get(&self->e.s, other_id, &got))
			TH_LOG("region %u of another namespace", other_id);
		EXPECT_EQ(-ENOENT, mb_submit(&self->e.s, self->sid, 0, &o, 1,
					     NULL));
		EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_NO_REGION))
			TH_LOG("%s", mb_strerr(&self->e.s));
		EXPECT_EQ(-ENOENT, mb_region_del(&self->e.s, other_id));
	}
	EXPECT_EQ(1, mb_region_dump(&self->e.s, all, 8))
		TH_LOG("the other namespace's regions are in this dump");
	b = 'x';
	ASSERT_EQ(1, write(tonet[1], &b, 1));
	EXPECT_EQ(0, child_status(pid));
	close(tonet[0]);
	close(tonet[1]);
	close(fromnet[0]);
	close(fromnet[1]);

	/* its owner still uses it */
	{
		struct mb_result *r;
		uint32_t nr;
		const char *why;

		ASSERT_EQ(0, run(&self->e.s, self->sid, &w, 1, &r, &nr))
			TH_LOG("%s", mb_strerr(&self->e.s));
		why = check_done(&w, 1, r, nr);
		EXPECT_EQ(NULL, why) TH_LOG("%s", why);
		mb_results_free(r, nr);
	}
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	munmap(p, rlen);
}

/* Where mb_region_new() puts an attribute of REGION_NEW; 0: absent. */
static uint32_t region_new_off(int attr, uint32_t flags)
{
	const uint32_t u64 = NLA_HDRLEN + 8, hdr = NLMSG_HDRLEN + GENL_HDRLEN;

	switch (attr) {
	case MBATCH_A_REGION_ADDR:
		return hdr;
	case MBATCH_A_REGION_LEN:
		return hdr + u64;
	case MBATCH_A_REGION_FLAGS:
		return flags ? hdr + 2 * u64 : 0;
	}
	return 0;
}

struct bad_reg {
	const char *name;
	uint64_t addr, len;
	uint32_t flags;
	int err;		/* positive errno */
	const char *x;		/* extack text, NULL: any */
	int attr;		/* the attribute it points at, 0: none */
};

/*
 * Registering t is refused with its errno, text and bad attribute, and
 * leaves nothing: no region, no pinned page, nothing in VmPin (a refusal
 * unpins before it returns). 0, or 1 after saying why.
 */
static int refused(struct __test_metadata *_metadata,
		   FIXTURE_DATA(region) *self, const struct bad_reg *t)
{
	struct mb_region_info ri, all[4];
	int ret = mb_region_new(&self->e.s, t->addr, t->len, t->flags, &ri);
	uint32_t off = region_new_off(t->attr, t->flags);
	const struct mb_err *x = &self->e.s.err;
	int bad = 0;

	if (ret != -t->err || !x->msg[0] || (t->x && !mb_contains(x->msg, t->x))) {
		TH_LOG("%s: %s, want -%d \"%s\"", t->name, mb_strerr(&self->e.s),
		       t->err, t->x ? t->x : "(any text)");
		bad = 1;
	} else if (off ? !x->has_off || x->off != off : x->has_off) {
		TH_LOG("%s: extack offset %s%u, want %u", t->name,
		       x->has_off ? "" : "none ", x->off, off);
		bad = 1;
	}
	if (!ret)
		mb_region_del(&self->e.s, ri.id);
	if (mb_region_dump(&self->e.s, all, 4) != 0 || objects("region") ||
	    pinned_pages() != self->pins0 || vmpin_kb() != self->vmpin0) {
		TH_LOG("%s: left a region or pinned pages", t->name);
		bad = 1;
	}
	return bad;
}

TEST_F(region, registration_refused)
{
	const size_t P = pg(), G = MBATCH_REGION_LEN_MAX;
	unsigned char *p = map_anon(4 * P), *h = map_anon(4 * P);
	unsigned char *rop = map_anon(2 * P), *big;
	const uint64_t a = addr_of(p), A = MBATCH_A_REGION_ADDR;
	const uint64_t L = MBATCH_A_REGION_LEN;
	const int RO = MBATCH_REGION_F_READONLY;
	struct mb_req req;
	int fails = 0, ret;
	size_t i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, h);
	ASSERT_NE(NULL, rop);
	/* 1 GiB of address space but its first page */
	big = mmap(NULL, G, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, big);
	ASSERT_EQ(0, munmap(big, P));
	/* holes: the second and the last page of h */
	ASSERT_EQ(0, munmap(h + P, P));
	ASSERT_EQ(0, munmap(h + 3 * P, P));
	ASSERT_EQ(0, mprotect(rop, P, PROT_READ));
	ASSERT_EQ(0, mprotect(rop + P, P, PROT_NONE));
	{
	const struct bad_reg t[] = {
	{ "address not page aligned", a + 512, P, 0, EINVAL,
	  X_REGION_ALIGN, A },
	{ "address 8 bytes into a page", a + 8, P, 0, EINVAL,
	  X_REGION_ALIGN, A },
	{ "address 0", 0, P, 0, EINVAL, X_REGION_ALIGN, A },
	{ "length not page aligned", a, P + 512, 0, EINVAL,
	  X_REGION_ALIGN, L },
	{ "length of one block", a, 512, 0, EINVAL, X_REGION_ALIGN, L },
	{ "length 0", a, 0, 0, EINVAL, X_REGION_LEN, L },
	{ "one page over 1 GiB", a, G + P, 0, EINVAL, X_REGION_LEN, L },
	{ "a length that wraps the address", a, UINT64_MAX - P + 1, 0,
	  EINVAL, X_REGION_LEN, L },
	{ "an unknown flag", a, P, MBATCH_REGION_F_ALL << 1, EINVAL, NULL,
	  MBATCH_A_REGION_FLAGS },
	{ "a hole in the middle", addr_of(h), 3 * P, 0, EFAULT,
	  X_REGION_UNMAPPED, A },
	{ "a hole at the end", addr_of(h + 2 * P), 2 * P, 0, EFAULT,
	  X_REGION_UNMAPPED, A },
	{ "nothing mapped", addr_of(h + 3 * P), P, 0, EFAULT,
	  X_REGION_UNMAPPED, A },
	{ "nothing mapped, read-only", addr_of(h + P), P, RO, EFAULT,
	  X_REGION_UNMAPPED, A },
	/* 1 GiB is a length it takes */
	{ "1 GiB but its first page", addr_of(big), G, 0, EFAULT,
	  X_REGION_UNMAPPED, A },
	/* memory the process itself may not write into, or read */
	{ "read-only memory, writable", addr_of(rop), P, 0, EFAULT, NULL, A },
	{ "inaccessible memory", addr_of(rop + P), P, 0, EFAULT, NULL, A },
	{ "inaccessible memory, read-only", addr_of(rop + P), P, RO, EFAULT,
	  NULL, A },
	};

	for (i = 0; i < ARRAY_SIZE(t); i++)
		fails += refused(_metadata, self, &t[i]);
	EXPECT_EQ(0, fails) TH_LOG("%d of %zu registrations not refused as specified",
				   fails, ARRAY_SIZE(t));
	}
	/* without an address or a length: named, as every missing one */
	mb_req_init(&req, &self->e.s, MBATCH_CMD_REGION_NEW, 0);
	mb_put_u64(&req, MBATCH_A_REGION_LEN, P);
	ret = mb_transact(&self->e.s, &req, NULL, NULL);
	mb_req_free(&req);
	EXPECT_EQ(-EINVAL, ret) TH_LOG("no address: %s", mb_strerr(&self->e.s));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "missing region address"))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_TRUE(self->e.s.err.has_miss &&
		    self->e.s.err.miss_type == MBATCH_A_REGION_ADDR);
	mb_req_init(&req, &self->e.s, MBATCH_CMD_REGION_NEW, 0);
	mb_put_u64(&req, MBATCH_A_REGION_ADDR, a);
	ret = mb_transact(&self->e.s, &req, NULL, NULL);
	mb_req_free(&req);
	EXPECT_EQ(-EINVAL, ret) TH_LOG("no length: %s", mb_strerr(&self->e.s));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, "missing region length"))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_TRUE(self->e.s.err.has_miss &&
		    self->e.s.err.miss_type == MBATCH_A_REGION_LEN);
	EXPECT_EQ(0, objects("region"));
	munmap(big + P, G - P);
	munmap(p, 4 * P);
	munmap(h, P);
	munmap(h + 2 * P, P);
	munmap(rop, 2 * P);
}

/*
 * A shared mapping of a file other than shmem is not registered for
 * writing: what owns the file would write back what the device writes
 * into (here the third device's node: its page cache). The same mapping
 * registers read-only, and a WRITE from it puts its bytes on the device.
 * A private mapping of a file registers writable: its pages become the
 * process's own and the file does not change (the test binary, on the
 * host's file system). Shared memory (memfd) registers writable.
 */
TEST_F(region, file_mappings)
{
	const size_t P = pg(), len = 64 * KIB;
	struct mb_region_info ri, rp, rm;
	unsigned char *smap, *pmap, *mfd, *file, *exe, *back;
	struct mb_result *r;
	struct mb_cmd c[5];
	uint32_t nr;
	const char *why;
	int fd, xfd, mf;

	file = malloc(len);
	exe = malloc(len);
	back = malloc(len);
	ASSERT_NE(NULL, file);
	ASSERT_NE(NULL, exe);
	ASSERT_NE(NULL, back);
	mb_pattern(file, len, 80, 0);
	fd = open(g.dev3, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, pwrite(fd, file, len, 0));
	ASSERT_EQ(0, fsync(fd));
	xfd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, xfd);
	ASSERT_EQ((ssize_t)len, pread(xfd, exe, len, 0));

	smap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, smap);
	{
		const struct bad_reg t = { "a shared file mapping, writable",
			addr_of(smap), len, 0, EOPNOTSUPP, X_REGION_FILE,
			MBATCH_A_REGION_ADDR };

		EXPECT_EQ(0, refused(_metadata, self, &t));
	}
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(smap), len,
				   MBATCH_REGION_F_READONLY, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_EQ(MBATCH_REGION_F_READONLY, ri.flags);
	EXPECT_EQ(self->pins0 + (long long)(len / P), pinned_pages());

	pmap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, xfd, 0);
	ASSERT_NE(MAP_FAILED, pmap);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(pmap), len, 0, &rp))
		TH_LOG("a private file mapping, writable: %s",
		       mb_strerr(&self->e.s));

	mf = memfd_create("mb_region", MFD_CLOEXEC);
	ASSERT_LE(0, mf);
	ASSERT_EQ(0, ftruncate(mf, 2 * P));
	mfd = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_SHARED, mf, 0);
	ASSERT_NE(MAP_FAILED, mfd);
	memset(mfd, 0, 2 * P);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(mfd), 2 * P, 0, &rm))
		TH_LOG("memfd, writable: %s", mb_strerr(&self->e.s));

	/* the shared mapping's bytes to the device and back into the memfd;
	 * a pattern read into the private mapping
	 */
	mb_pattern(back, len, 81, 34 * MIB);
	ASSERT_EQ(0, mb_pwrite_direct(self->e.dev, 34 * MIB, back, len));
	c[0] = prw(1, MBATCH_OP_WRITE, 30 * MIB, len, ri.id, 0);
	c[1] = cp(2);
	c[2] = prw(3, MBATCH_OP_READ, 30 * MIB, 2 * P, rm.id, 0);
	c[3] = prw(4, MBATCH_OP_READ, 34 * MIB, len, rp.id, 0);
	ASSERT_EQ(0, run(&self->e.s, self->sid, c, 4, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(c, 4, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	mb_results_free(r, nr);
	EXPECT_EQ(-1, diff_at(mfd, file, 2 * P))
		TH_LOG("the memfd region does not hold the file's bytes");
	EXPECT_EQ(-1, diff_at(pmap, back, len))
		TH_LOG("the private mapping does not hold what was read");
	{
		unsigned char *dev = malloc(len);

		ASSERT_NE(NULL, dev);
		ASSERT_EQ(0, mb_pread_direct(self->e.dev, 30 * MIB, dev, len));
		EXPECT_EQ(-1, diff_at(dev, file, len))
			TH_LOG("the device does not hold the file's bytes");
		free(dev);
	}
	/* the shared mapping's pages are not written into */
	c[0] = prw(5, MBATCH_OP_READ, 0, P, ri.id, 0);
	EXPECT_EQ(-EACCES, mb_submit(&self->e.s, self->sid, 0, c, 1, NULL));
	EXPECT_TRUE(mb_contains(self->e.s.err.msg, X_REGION_RO))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	ASSERT_EQ(0, mb_region_del(&self->e.s, rp.id));
	ASSERT_EQ(0, mb_region_del(&self->e.s, rm.id));
	EXPECT_EQ(self->pins0, pinned_pages());
	munmap(smap, len);
	munmap(pmap, len);
	munmap(mfd, 2 * P);
	close(mf);
	close(fd);
	/* the file is what it was: the private pages were the process's */
	ASSERT_EQ((ssize_t)len, pread(xfd, back, len, 0));
	EXPECT_EQ(-1, diff_at(back, exe, len)) TH_LOG("the file changed");
	close(xfd);
	free(file);
	free(exe);
	free(back);
}

/*
 * A read-only region registered over private memory before the memory is
 * written: a WRITE from it takes what the process wrote there after (the
 * pin did not leave it on pages the process no longer maps).
 */
TEST_F(region, readonly_region_then_filled)
{
	const size_t len = 64 * KIB;
	unsigned char *p = map_anon(len), *dev = malloc(len);
	struct mb_region_info ri;
	struct mb_result *r;
	struct mb_cmd c;
	uint32_t nr;
	const char *why;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, dev);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p), len,
				   MBATCH_REGION_F_READONLY, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	mb_pattern(p, len, 90, 36 * MIB);
	c = prw(1, MBATCH_OP_WRITE, 36 * MIB, len, ri.id, 0);
	ASSERT_EQ(0, run(&self->e.s, self->sid, &c, 1, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	why = check_done(&c, 1, r, nr);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	mb_results_free(r, nr);
	ASSERT_EQ(0, mb_pread_direct(self->e.dev, 36 * MIB, dev, len));
	EXPECT_EQ(-1, diff_at(dev, p, len))
		TH_LOG("the device does not hold what the process wrote");
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	free(dev);
	munmap(p, len);
}

/*
 * At most MBATCH_REGIONS_MAX regions per socket (another socket still
 * registers); closing the socket releases all of them.
 */
TEST_F(region, per_socket_limit_and_close)
{
	const size_t P = pg();
	unsigned char *p = map_anon((MBATCH_REGIONS_MAX + 1) * P);
	struct mb_region_info ri, *all;
	struct mb_sock s2;
	int i, ok = 0, n;

	ASSERT_NE(NULL, p);
	all = calloc(MBATCH_REGIONS_MAX + 8, sizeof(*all));
	ASSERT_NE(NULL, all);
	ASSERT_EQ(0, mb_open(&s2));
	for (i = 0; i < MBATCH_REGIONS_MAX; i++)
		ok += mb_region_new(&s2, addr_of(p + i * P), P, 0, &ri) == 0;
	EXPECT_EQ(MBATCH_REGIONS_MAX, ok) TH_LOG("%s", mb_strerr(&s2));
	EXPECT_EQ(-ENOSPC, mb_region_new(&s2, addr_of(p + i * P), P, 0, &ri));
	EXPECT_TRUE(mb_contains(s2.err.msg, X_REGION_MAX))
		TH_LOG("%s", mb_strerr(&s2));
	EXPECT_FALSE(s2.err.has_off) TH_LOG("a limit is no attribute's");
	EXPECT_EQ(self->pins0 + MBATCH_REGIONS_MAX, wait_pins(self->pins0 +
							     MBATCH_REGIONS_MAX));
	/* the limit is the socket's */
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(p + i * P), P, 0, &ri))
		TH_LOG("%s", mb_strerr(&self->e.s));
	n = mb_region_dump(&self->e.s, all, MBATCH_REGIONS_MAX + 8);
	EXPECT_EQ(MBATCH_REGIONS_MAX + 1, n);
	EXPECT_EQ(MBATCH_REGIONS_MAX + 1, objects("region"));
	mb_close(&s2);
	n = mb_region_dump(&self->e.s, all, MBATCH_REGIONS_MAX + 8);
	EXPECT_EQ(1, n) TH_LOG("the closed socket's regions are still there");
	EXPECT_EQ(ri.id, all[0].id);
	/* unused: unpinned before the close returned */
	EXPECT_EQ(1, objects("region"));
	EXPECT_EQ(self->pins0 + 1, pinned_pages());
	ASSERT_EQ(0, mb_region_del(&self->e.s, ri.id));
	free(all);
	munmap(p, (MBATCH_REGIONS_MAX + 1) * P);
}

/*
 * Commands in flight on the slow device keep a deleted region's pages:
 * they complete, reading into and writing from them, and only then are
 * the pages unpinned. The other region's users go back to 0.
 */
TEST_F(region, delete_while_in_flight)
{
	const size_t alen = 1 * MIB, blen = 256 * KIB, k64 = 64 * KIB;
	unsigned char *a = map_anon(alen), *b = map_anon(blen);
	unsigned char *dev = malloc(k64), *pat = malloc(2 * k64);
	struct mb_region_info ra, rb, got, all[4];
	const long long na = alen / pg(), nb = blen / pg();
	struct mb_result *r = NULL;
	uint32_t nr = 0;
	struct mb_cmd c[7];
	const char *err;
	uint64_t t0;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, dev);
	ASSERT_NE(NULL, pat);
	err = slow_setup(self);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	mb_pattern(pat, k64, 30, 2 * MIB);
	mb_pattern(pat + k64, k64, 31, 3 * MIB);
	ASSERT_EQ(0, mb_pwrite_direct(self->dev2, 2 * MIB, pat, k64));
	ASSERT_EQ(0, mb_pwrite_direct(self->dev2, 3 * MIB, pat + k64, k64));
	mb_pattern(a, k64, 32, 0);
	mb_pattern(a + 128 * KIB, k64, 33, 1 * MIB);
	mb_pattern(b, k64, 34, 4 * MIB);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(a), alen, 0, &ra));
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(b), blen, 0, &rb));
	c[0] = prw(1, MBATCH_OP_WRITE, 0, k64, ra.id, 0);
	c[1] = prw(2, MBATCH_OP_WRITE, 1 * MIB, k64, ra.id, 128 * KIB);
	c[2] = prw(3, MBATCH_OP_READ, 2 * MIB, k64, ra.id, 256 * KIB);
	c[3] = prw(4, MBATCH_OP_READ, 3 * MIB, k64, ra.id, 512 * KIB);
	c[4] = prw(5, MBATCH_OP_WRITE, 4 * MIB, k64, rb.id, 0);
	c[5] = cp(6);
	c[6] = prw(7, MBATCH_OP_READ, 0, k64, ra.id, 768 * KIB);
	t0 = mb_now_ns();
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid2, 0, c, 7, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	/* 200 ms per request: nothing has completed yet */
	ASSERT_EQ(0, mb_region_get(&self->e.s, ra.id, &got));
	EXPECT_EQ(5, got.users);
	ASSERT_EQ(0, mb_region_get(&self->e.s, rb.id, &got));
	EXPECT_EQ(1, got.users);
	ASSERT_EQ(0, mb_region_del(&self->e.s, ra.id))
		TH_LOG("%s", mb_strerr(&self->e.s));
	EXPECT_LT(mb_now_ns() - t0, 200000000ULL)
		TH_LOG("too slow to be sure nothing had completed");
	EXPECT_EQ(-ENOENT, mb_region_get(&self->e.s, ra.id, &got));
	EXPECT_EQ(1, mb_region_dump(&self->e.s, all, 4));
	/* its pages stay pinned for the commands */
	EXPECT_LE(self->pins0 + na + nb, pinned_pages());
	EXPECT_EQ(2, objects("region"));
	EXPECT_EQ(self->vmpin0 + (long long)((alen + blen) / KIB), vmpin_kb());

	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid2, 7, 30000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	err = check_done(c, 7, r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	err = mb_check_barrier(r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	mb_results_free(r, nr);
	EXPECT_GE(mb_now_ns() - t0, 400000000ULL)
		TH_LOG("the slow device was not slow");
	/* then the deleted region is freed, the other is unused */
	EXPECT_EQ(1, wait_objects("region", 1));
	EXPECT_EQ(self->pins0 + nb, wait_pins(self->pins0 + nb));
	EXPECT_EQ(self->vmpin0 + (long long)(blen / KIB),
		  wait_vmpin(self->vmpin0 + blen / KIB));
	ASSERT_EQ(0, mb_region_get(&self->e.s, rb.id, &got));
	EXPECT_EQ(0, got.users);
	/* the reads landed in the deleted region's memory */
	EXPECT_EQ(-1, diff_at(a + 256 * KIB, pat, k64));
	EXPECT_EQ(-1, diff_at(a + 512 * KIB, pat + k64, k64));
	EXPECT_EQ(-1, diff_at(a + 768 * KIB, a, k64));
	/* the writes took theirs */
	ASSERT_EQ(0, mb_pread_direct(self->dev2, 0, dev, k64));
	EXPECT_EQ(-1, diff_at(dev, a, k64));
	ASSERT_EQ(0, mb_pread_direct(self->dev2, 1 * MIB, dev, k64));
	EXPECT_EQ(-1, diff_at(dev, a + 128 * KIB, k64));
	ASSERT_EQ(0, mb_pread_direct(self->dev2, 4 * MIB, dev, k64));
	EXPECT_EQ(-1, diff_at(dev, b, k64));
	ASSERT_EQ(0, mb_region_del(&self->e.s, rb.id));
	free(dev);
	free(pat);
	munmap(a, alen);
	munmap(b, blen);
}

/*
 * The process that registered a region is killed while its commands are
 * in flight: its socket's regions go at once, its pages once the commands
 * completed; its session (OWNED) closes.
 */
TEST_F(region, owner_killed_mid_io)
{
	const size_t len = 1 * MIB, k64 = 64 * KIB;
	struct mb_region_info all[4];
	struct mb_queue_info qi;
	struct { uint32_t id, portid; } got = { 0 };
	const struct mb_region_info *x;
	int ready[2], n, st;
	const char *err;
	pid_t pid;

	err = slow_setup(self);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned char *p = map_anon(len);
		struct mb_region_info ri;
		struct mb_cmd c[9];
		struct mb_sock s;
		uint32_t sid, i;

		if (!p || mb_open(&s))
			_exit(101);
		if (mb_session_open(&s, self->q2, MBATCH_SESSION_F_OWNED, &sid))
			_exit(102);
		mb_pattern(p, len, 40, 0);
		if (mb_region_new(&s, addr_of(p), len, 0, &ri))
			_exit(103);
		for (i = 0; i < 4; i++) {
			c[2 * i] = prw(2 * i, MBATCH_OP_WRITE, i * MIB, k64,
				       ri.id, i * 2 * k64);
			c[2 * i + 1] = prw(2 * i + 1, MBATCH_OP_READ,
					   (8 + i) * MIB, k64, ri.id,
					   (i * 2 + 1) * k64);
		}
		c[8] = cp(8);
		if (mb_submit(&s, sid, 0, c, 9, NULL))
			_exit(104);
		got.id = ri.id;
		got.portid = s.portid;
		if (write(ready[1], &got, sizeof(got)) != sizeof(got))
			_exit(105);
		for (;;)
			pause();
	}
	close(ready[1]);
	ASSERT_EQ(sizeof(got), read(ready[0], &got, sizeof(got)))
		TH_LOG("the child did not get its commands in flight");
	close(ready[0]);
	n = mb_region_dump(&self->e.s, all, 4);
	ASSERT_EQ(1, n);
	x = find_region(all, n, got.id);
	ASSERT_NE(NULL, x);
	EXPECT_EQ(got.portid, x->portid);
	EXPECT_LT(0, x->users);
	EXPECT_LE(self->pins0 + (long long)(len / pg()), pinned_pages());
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* the socket went with it, and its region with the socket */
	EXPECT_EQ(0, mb_region_dump(&self->e.s, all, 4));
	EXPECT_EQ(0, wait_objects("region", 0));
	EXPECT_EQ(self->pins0, wait_pins(self->pins0));
	EXPECT_EQ(0, wait_objects("command", 0));
	EXPECT_EQ(0, mb_blk_wait_idle(self->nb2, WAIT_MS));
	ASSERT_EQ(0, mb_queue_get(&self->e.s, self->q2, &qi));
	EXPECT_EQ(1, qi.sessions) TH_LOG("the child's owned session is open");
	EXPECT_EQ(self->vmpin0, vmpin_kb());
}

/*
 * The registered range is unmapped, and other memory mapped at the same
 * address, while commands use the region: they complete on the registered
 * pages (the writes take what was there, the reads land there and not in
 * the new mapping); the pages are unpinned at the delete.
 */
TEST_F(region, munmap_mid_io)
{
	const size_t len = 1 * MIB, k64 = 64 * KIB;
	unsigned char *a = map_anon(len), *copy = malloc(len);
	unsigned char *dev = malloc(k64), *pat = malloc(k64), *again;
	const long long np = len / pg();
	struct mb_region_info ra, got;
	struct mb_result *r = NULL;
	struct mb_cmd c[6];
	uint32_t nr = 0;
	const char *err;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, copy);
	ASSERT_NE(NULL, dev);
	ASSERT_NE(NULL, pat);
	err = slow_setup(self);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	mb_pattern(pat, k64, 50, 2 * MIB);
	ASSERT_EQ(0, mb_pwrite_direct(self->dev2, 2 * MIB, pat, k64));
	mb_pattern(a, len, 51, 0);
	memcpy(copy, a, len);
	ASSERT_EQ(0, mb_region_new(&self->e.s, addr_of(a), len, 0, &ra));
	c[0] = prw(1, MBATCH_OP_WRITE, 0, k64, ra.id, 0);
	c[1] = prw(2, MBATCH_OP_WRITE, 1 * MIB, k64, ra.id, 256 * KIB);
	c[2] = prw(3, MBATCH_OP_READ, 2 * MIB, k64, ra.id, 512 * KIB);
	c[3] = cp(4);
	c[4] = prw(5, MBATCH_OP_READ, 0, k64, ra.id, 768 * KIB);
	c[5] = prw(6, MBATCH_OP_READ, 2 * MIB, k64, ra.id, 128 * KIB);
	ASSERT_EQ(0, mb_submit(&self->e.s, self->sid2, 0, c, 6, NULL))
		TH_LOG("%s", mb_strerr(&self->e.s));
	ASSERT_EQ(0, munmap(a, len));
	again = mmap(a, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(a, again);
	/* still pinned, still charged */
	EXPECT_LE(self->pins0 + np, pinned_pages());
	EXPECT_EQ(self->vmpin0 + (long long)(len / KIB), vmpin_kb());
	ASSERT_EQ(0, mb_collect_all(&self->e.s, self->sid2, 6, 30000, &r, &nr))
		TH_LOG("%s", mb_strerr(&self->e.s));
	err = check_done(c, 6, r, nr);
	EXPECT_EQ(NULL, err) TH_LOG("%s", err);
	mb_results_free(r, nr);
	EXPECT_EQ(-1, not_byte_at(again, 0, len))
		TH_LOG("a read landed in memory mapped after the registration");
	ASSERT_EQ(0, mb_pread_direct(self->dev2, 0, dev, k64));
	EXPECT_EQ(-1, diff_at(dev, copy, k64));
	ASSERT_EQ(0, mb_pread_direct(self->dev2, 1 * MIB, dev, k64));
	EXPECT_EQ(-1, diff_at(dev, copy + 256 * KIB, k64));
	ASSERT_EQ(0, mb_region_get(&self->e.s, ra.id, &got));
	EXPECT_EQ(0, got.users);
	EXPECT_EQ(self->pins0 + np, wait_pins(self->pins0 + np));
	ASSERT_EQ(0, mb_region_del(&self->e.s, ra.id));
	EXPECT_EQ(self->pins0, wait_pins(self->pins0));
	EXPECT_EQ(self->vmpin0, wait_vmpin(self->vmpin0));
	munmap(again, len);
	free(copy);
	free(dev);
	free(pat);
}

/*
 * A remote session's proxied payloads go up to 1 MiB from any region
 * offset (alignment 1), inline ones up to MAX_IO: a WRITE's data is pulled
 * and sent from the region's pages, a READ's is copied into them. The
 * participant's device holds what the region held, and a proxied READ
 * puts the data in the region and nowhere around it. In a namespace of
 * its own, over a loopback link from this node to itself (nodeb: where
 * the session goes, nodea: where it comes from).
 */
TEST_F(region, remote_session_copies)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct mb_queue_cfg qc = { .name = "mbt_rq", .dev = g.dev3 };
		struct mb_peer_cfg pa = { .name = "nodea" };
		struct mb_peer_cfg pb = { .name = "nodeb" };
		const size_t rlen = 256 * KIB;
		const uint64_t rw = 1, rr = 128 * KIB + 3;
		unsigned char *p = map_anon(rlen), *dev;
		struct mb_session_info si;
		struct mb_region_info ri;
		struct mb_result *r = NULL;
		uint32_t sid = 0, nr = 0, io = 0, pio = 96 * KIB, k;
		struct mb_cmd c[4];
		const char *why;
		struct mb_sock s;
		int fails = 0, fds[2], ret;

		if (!p || unshare(CLONE_NEWNET) || system("ip link set lo up"))
			_exit(101);
		if (mb_open(&s) || mb_queue_new(&s, &qc) ||
		    mb_peer_new(&s, &pa) || mb_peer_new(&s, &pb) ||
		    mb_tcp_pair(fds) ||
		    mb_peer_attach(&s, "nodeb", fds[0], 0) ||
		    mb_peer_attach(&s, "nodea", fds[1], 0))
			_exit(102);
		close(fds[0]);
		close(fds[1]);
		if (mb_session_open_remote(&s, qc.name, "nodeb", 0, &sid))
			_exit(103);
		for (k = 0; k < 500; k++) {
			if (mb_session_get(&s, sid, &si))
				_exit(104);
			if (si.state == MBATCH_SESSION_ACTIVE)
				break;
			usleep(10000);
		}
		CHK(si.state == MBATCH_SESSION_ACTIVE, "session state %u",
		    si.state);
		io = si.max_io;
		CHK(io == MBATCH_MAX_IO_LEN &&
		    si.max_proxy_io == MBATCH_MAX_PROXY_IO_LEN,
		    "max-io %u, max-proxy-io %u: want 32 KiB and 1 MiB", io,
		    si.max_proxy_io);
		CHK(si.proxy_align == 1, "proxy alignment %u, want 1",
		    si.proxy_align);
		if (!io || io > pio || pio > rr - rw || fails)
			_exit(fails ? fails : 105);
		memset(p, 0x5a, rlen);
		mb_pattern(p + rw, pio, 70, 0);
		ret = mb_region_new(&s, addr_of(p), rlen, 0, &ri);
		CHK(ret == 0, "region-new: %s", mb_strerr(&s));
		c[0] = prw(1, MBATCH_OP_WRITE, 0, pio, ri.id, rw);
		c[1] = cp(2);
		c[2] = prw(3, MBATCH_OP_READ, 0, pio, ri.id, rr);
		c[3] = irw(4, MBATCH_OP_READ, 0, io, NULL);
		ret = ret ? ret : run(&s, sid, c, 4, &r, &nr);
		CHK(ret == 0, "proxied I/O: %s", mb_strerr(&s));
		why = ret ? NULL : check_done(c, 4, r, nr);
		CHK(!why, "%s", why);
		CHK(diff_at(p + rr, p + rw, pio) == -1,
		    "the proxied read differs");
		CHK(not_byte_at(p + rr - pg(), 0x5a, pg()) == -1 &&
		    not_byte_at(p + rr + pio, 0x5a, pg()) == -1,
		    "the proxied read wrote around its payload");
		for (k = 0; k < nr; k++)
			if (r[k].tag == 4)
				CHK(r[k].data_len == io &&
				    diff_at(r[k].data, p + rw, io) == -1,
				    "the inline read differs");
		mb_results_free(r, nr);
		dev = malloc(pio);
		CHK(dev && !mb_pread_direct(g.dev3, 0, dev, pio) &&
		    diff_at(dev, p + rw, pio) == -1,
		    "the participant's device differs");
		free(dev);
		/* its maximum: the session's */
		c[0] = prw(5, MBATCH_OP_WRITE, 0, MBATCH_MAX_PROXY_IO_LEN + 512,
			   ri.id, 0);
		ret = mb_submit(&s, sid, 0, c, 1, NULL);
		CHK(ret == -EINVAL && mb_contains(s.err.msg, X_LEN_MAX_PROXY),
		    "proxied write past max-io: %s", mb_strerr(&s));
		CHK(mb_session_close(&s, sid) == 0, "session-close: %s",
		    mb_strerr(&s));
		CHK(mb_region_del(&s, ri.id) == 0, "region-del: %s",
		    mb_strerr(&s));
		mb_peer_del(&s, "nodeb");
		mb_peer_del(&s, "nodea");
		CHK(mb_queue_del(&s, qc.name) == 0, "queue-del: %s",
		    mb_strerr(&s));
		mb_close(&s);
		_exit(fails > 99 ? 99 : fails);
	}
	EXPECT_EQ(0, child_status(pid));
	EXPECT_TRUE(mb_wait_dev_free(g.dev3, WAIT_MS));
}

static int set_caps(uint64_t caps)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].permitted = (uint32_t)caps;
	d[0].effective = d[0].permitted;
	d[1].permitted = (uint32_t)(caps >> 32);
	d[1].effective = d[1].permitted;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

#define MEMLOCK_UID	54321
#define MEMLOCK_LIMIT	(64 * KIB)

/* Pin len bytes at p in a child check: 0 or -errno; its region in *id. */
static int child_region(struct mb_sock *s, unsigned char *p, size_t len,
			uint32_t *id)
{
	struct mb_region_info ri;
	int ret = mb_region_new(s, addr_of(p), len, 0, &ri);

	*id = ret ? 0 : ri.id;
	return ret;
}

/*
 * RLIMIT_MEMLOCK: with CAP_IPC_LOCK a region may exceed it; as another
 * user with only CAP_NET_ADMIN every region counts against it, the pages
 * show in VmPin, and the charge comes back at the delete and at the close.
 */
TEST_F(region, rlimit_memlock)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { MEMLOCK_LIMIT, MEMLOCK_LIMIT };
		unsigned char *p = map_anon(4 * MEMLOCK_LIMIT);
		long long v0 = vmpin_kb(), lim = MEMLOCK_LIMIT / KIB;
		int fails = 0, ret;
		struct mb_sock s;
		uint32_t id, id2;

		if (!p || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(101);
		if (mb_open(&s))
			_exit(102);
		/* root: CAP_IPC_LOCK is exempt from the limit, not from VmPin */
		ret = child_region(&s, p, 4 * MEMLOCK_LIMIT, &id);
		CHK(ret == 0, "with CAP_IPC_LOCK, over the limit: %s",
		    mb_strerr(&s));
		CHK(vmpin_kb() == v0 + 4 * lim, "VmPin %lld kB, want %lld",
		    vmpin_kb(), v0 + 4 * lim);
		if (!ret)
			CHK(mb_region_del(&s, id) == 0, "region-del: %s",
			    mb_strerr(&s));
		CHK(vmpin_kb() == v0, "VmPin %lld kB after the delete",
		    vmpin_kb());
		mb_close(&s);

		/* another user, CAP_NET_ADMIN only */
		if (prctl(PR_SET_KEEPCAPS, 1) ||
		    setresgid(MEMLOCK_UID, MEMLOCK_UID, MEMLOCK_UID) ||
		    setresuid(MEMLOCK_UID, MEMLOCK_UID, MEMLOCK_UID) ||
		    set_caps(1ULL << CAP_NET_ADMIN))
			_exit(103);
		if (mb_open(&s))
			_exit(104);
		ret = child_region(&s, p, 2 * MEMLOCK_LIMIT, &id);
		CHK(ret == -ENOMEM, "twice the limit: %d (%s)", ret,
		    mb_strerr(&s));
		CHK(mb_contains(s.err.msg, X_REGION_MEMLOCK),
		    "extack \"%s\" lacks \"%s\"", s.err.msg, X_REGION_MEMLOCK);
		CHK(!s.err.has_off, "a limit is no attribute's: offset %u",
		    s.err.off);
		CHK(vmpin_kb() == v0, "VmPin %lld kB after a refusal",
		    vmpin_kb());
		ret = child_region(&s, p, MEMLOCK_LIMIT, &id);
		CHK(ret == 0, "the limit exactly: %s", mb_strerr(&s));
		CHK(vmpin_kb() == v0 + lim, "VmPin %lld kB, want %lld",
		    vmpin_kb(), v0 + lim);
		ret = child_region(&s, p + MEMLOCK_LIMIT, pg(), &id2);
		CHK(ret == -ENOMEM, "one page more: %d (%s)", ret,
		    mb_strerr(&s));
		CHK(mb_contains(s.err.msg, X_REGION_MEMLOCK),
		    "extack \"%s\" lacks \"%s\"", s.err.msg, X_REGION_MEMLOCK);
		/* the region that fits works */
		{
			struct mb_result *r;
			struct mb_cmd c[3];
			uint32_t sid, nr;
			const char *why;

			mb_pattern(p, MEMLOCK_LIMIT / 2, 60, 40 * MIB);
			c[0] = prw(1, MBATCH_OP_WRITE, 40 * MIB,
				   MEMLOCK_LIMIT / 2, id, 0);
			c[1] = cp(2);
			c[2] = prw(3, MBATCH_OP_READ, 40 * MIB,
				   MEMLOCK_LIMIT / 2, id, MEMLOCK_LIMIT / 2);
			ret = mb_session_open(&s, self->e.queue, 0, &sid);
			CHK(ret == 0, "session-open: %s", mb_strerr(&s));
			ret = ret ? ret : run(&s, sid, c, 3, &r, &nr);
			CHK(ret == 0, "proxied I/O: %s", mb_strerr(&s));
			why = ret ? NULL : check_done(c, 3, r, nr);
			CHK(!why, "%s", why);
			if (!ret)
				mb_results_free(r, nr);
			CHK(diff_at(p, p + MEMLOCK_LIMIT / 2,
				    MEMLOCK_LIMIT / 2) == -1,
			    "the proxied read differs");
			if (sid)
				CHK(mb_session_close(&s, sid) == 0,
				    "session-close: %s", mb_strerr(&s));
		}
		/* the delete gives the charge back */
		CHK(mb_region_del(&s, id) == 0, "region-del: %s",
		    mb_strerr(&s));
		CHK(vmpin_kb() == v0, "VmPin %lld kB after the delete",
		    vmpin_kb());
		ret = child_region(&s, p, MEMLOCK_LIMIT, &id);
		CHK(ret == 0, "the limit again after the delete: %s",
		    mb_strerr(&s));
		/* and so does the close */
		mb_close(&s);
		CHK(vmpin_kb() == v0, "VmPin %lld kB after the close",
		    vmpin_kb());
		if (mb_open(&s))
			_exit(105);
		ret = child_region(&s, p, MEMLOCK_LIMIT, &id);
		CHK(ret == 0, "the limit again after the close: %s",
		    mb_strerr(&s));
		mb_close(&s);
		CHK(vmpin_kb() == v0, "VmPin %lld kB at the end",
		    vmpin_kb());
		_exit(fails > 99 ? 99 : fails);
	}
	EXPECT_EQ(0, child_status(pid));
}

static pid_t devices_owner;

/* At the harness's exit: the devices go, or the run fails. */
static void devices_exit(void)
{
	const char *why;

	if (getpid() != devices_owner)
		return;
	why = devices_teardown();
	if (why) {
		printf("# mb_region: %s\n", why);
		fflush(stdout);
		_exit(KSFT_FAIL);
	}
}

int main(int argc, char **argv)
{
	const char *why = devices_setup();

	devices_owner = getpid();
	if (why || atexit(devices_exit)) {
		printf("# mb_region: %s\n", why ? why : "atexit failed");
		devices_exit();
		return KSFT_FAIL;
	}
	return test_harness_run(argc, argv);
}
