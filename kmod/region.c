// SPDX-License-Identifier: GPL-2.0
/*
 * Registered regions: a caller's memory, pinned long-term at registration
 * and charged to its RLIMIT_MEMLOCK the way io_uring charges registered
 * buffers (user->locked_vm, mm->pinned_vm; CAP_IPC_LOCK exempt).
 *
 * The namespace's table holds one reference; each command that names the
 * region holds another from its submission until it completes. The pages
 * are unpinned when the last reference goes: at once if that is a request
 * (process context), else (a command completing, any context) by a work
 * item.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/mbatch.h>

#include "compat.h"
#include "fault.h"
#include "netns.h"
#include "region.h"

static struct workqueue_struct *mbatch_region_wq;

static int mbatch_region_fail(struct mbatch_region_fault *f,
			      enum mbatch_region_field field, const char *text,
			      int err)
{
	f->text = text;
	f->err = err;
	f->field = field;
	return err;
}

/* Charge the region's pages to the caller's RLIMIT_MEMLOCK, as io_uring does. */
static int mbatch_region_account(struct mbatch_region *r)
{
	struct user_struct *user = current_user();
	unsigned long limit, cur, want;

	if (!capable(CAP_IPC_LOCK)) {
		limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		cur = atomic_long_read(&user->locked_vm);
		do {
			want = cur + r->nr_pages;
			if (want > limit || want < cur)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, want));
		r->user = get_uid(user);
	}
	atomic64_add(r->nr_pages, &r->mm->pinned_vm);
	return 0;
}

static void mbatch_region_unaccount(struct mbatch_region *r)
{
	atomic64_sub(r->nr_pages, &r->mm->pinned_vm);
	if (r->user) {
		atomic_long_sub(r->nr_pages, &r->user->locked_vm);
		free_uid(r->user);
	}
}

/*
 * Memory a writable region may be: private mappings (a write pin breaks
 * COW: the pages are the process's own), and shared ones of shmem (memfd,
 * shared anonymous) or hugetlbfs files. A shared mapping of any other file
 * is not pinned for writing: its file system would write back pages the
 * device is writing into.
 */
static bool mbatch_vma_pinnable(struct vm_area_struct *vma, bool writable)
{
	struct inode *inode;
	unsigned long magic;

	if (!writable || !vma->vm_file || !(vma->vm_flags & VM_SHARED))
		return true;
	inode = file_inode(vma->vm_file);
	magic = inode->i_sb->s_magic;
	return S_ISREG(inode->i_mode) &&
	       (magic == TMPFS_MAGIC || magic == HUGETLBFS_MAGIC);
}

/* Every mapping of the range may be pinned as the region asks. */
static int mbatch_region_check(struct mbatch_region *r, bool writable,
			       struct mbatch_region_fault *f)
{
	u64 end = r->addr + r->len, at;
	struct vm_area_struct *vma;

	for (at = r->addr; at < end; at = vma->vm_end) {
		vma = find_vma(r->mm, at);
		if (!vma || vma->vm_start > at)
			return mbatch_region_fail(f, MBATCH_RF_ADDR,
						  "region is not all mapped",
						  -EFAULT);
		/* Pinning must not reach what the process itself cannot. */
		if (!(vma->vm_flags & VM_READ) ||
		    (writable && !(vma->vm_flags & VM_WRITE)))
			return mbatch_region_fail(f, MBATCH_RF_ADDR,
						  "region memory is not accessible",
						  -EFAULT);
		if (!mbatch_vma_pinnable(vma, writable))
			return mbatch_region_fail(f, MBATCH_RF_ADDR,
						  "region is a shared file mapping: register it read-only",
						  -EOPNOTSUPP);
	}
	return 0;
}

/*
 * Pin every page of the range, or none: every mapping is checked first,
 * then pinned one at a time (each with its flags), under the mmap lock
 * throughout, so the mappings checked are the mappings pinned.
 */
static int mbatch_region_pin(struct mbatch_region *r,
			     struct mbatch_region_fault *f)
{
	bool writable = !(r->flags & MBATCH_REGION_F_READONLY);
	u64 end = r->addr + r->len, at = r->addr, stop;
	struct vm_area_struct *vma;
	unsigned long done = 0;
	long ret;

	if (mmap_read_lock_killable(r->mm))
		return mbatch_region_fail(f, MBATCH_RF_NONE,
					  "interrupted while pinning the region",
					  -EINTR);
	ret = mbatch_region_check(r, writable, f);
	while (!ret && at < end) {
		vma = find_vma(r->mm, at);
		stop = min_t(u64, end, vma->vm_end);
		while (at < stop) {
			ret = mbatch_pin_user_pages(at, (stop - at) >> PAGE_SHIFT,
						    mbatch_pin_flags(vma, writable),
						    r->pages + done);
			if (ret <= 0) {
				ret = mbatch_region_fail(f, MBATCH_RF_ADDR,
							 "region memory cannot be pinned",
							 ret ?: -EFAULT);
				break;
			}
			done += ret;
			at += (u64)ret << PAGE_SHIFT;
			ret = 0;
		}
	}
	mmap_read_unlock(r->mm);
	if (ret)
		unpin_user_pages(r->pages, done);
	return ret;
}

static void mbatch_region_free(struct mbatch_region *r)
{
	mmdrop(r->mm);
	kvfree(r->pages);
	mbatch_obj_gone(MBATCH_OBJ_REGION);
	kfree(r);
}

/* The last reference went: unpin (a page lock: process context). */
static void mbatch_region_destroy(struct mbatch_region *r)
{
	unpin_user_pages_dirty_lock(r->pages, r->nr_pages,
				    !(r->flags & MBATCH_REGION_F_READONLY));
	mbatch_region_unaccount(r);
	mbatch_region_free(r);
}

static void mbatch_region_free_work(struct work_struct *work)
{
	mbatch_region_destroy(container_of(work, struct mbatch_region,
					   free_work));
}

static void mbatch_region_release(struct kref *ref)
{
	mbatch_region_destroy(container_of(ref, struct mbatch_region, ref));
}

static void mbatch_region_release_async(struct kref *ref)
{
	struct mbatch_region *r = container_of(ref, struct mbatch_region, ref);

	queue_work(mbatch_region_wq, &r->free_work);
}

/*
 * Drop a reference from process context with no lock held: a deleted or
 * released region no command uses is unpinned and uncharged before the
 * request returns.
 */
void mbatch_region_put(struct mbatch_region *r)
{
	might_sleep();
	kref_put(&r->ref, mbatch_region_release);
}

/* A command uses the region from its submission until it completes. */
void mbatch_region_hold(struct mbatch_region *r)
{
	kref_get(&r->ref);
	atomic_inc(&r->users);
}

/* Any context: the last command may end in a bio's completion. */
void mbatch_region_unhold(struct mbatch_region *r)
{
	atomic_dec(&r->users);
	kref_put(&r->ref, mbatch_region_release_async);
}

static unsigned int mbatch_regions_of(struct mbatch_net *mn, u32 portid)
{
	struct mbatch_region *r;
	unsigned long index;
	unsigned int n = 0;

	lockdep_assert_held(&mn->lock);
	xa_for_each(&mn->regions, index, r)
		if (r->portid == portid)
			n++;
	return n;
}

/* Register [addr, addr + len) of the caller's memory for socket @portid. */
struct mbatch_region *mbatch_region_new(struct mbatch_net *mn, u32 portid,
					u64 addr, u64 len, u32 flags,
					struct mbatch_region_fault *f)
{
	struct mbatch_region *r;
	int err;

	if (!PAGE_ALIGNED(addr) || !addr)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_ADDR,
						  "region address and length must be page aligned",
						  -EINVAL));
	if (!PAGE_ALIGNED(len))
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_LEN,
						  "region address and length must be page aligned",
						  -EINVAL));
	if (!len || len > MBATCH_REGION_LEN_MAX)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_LEN,
						  "region length must be 1 page to 1 GiB",
						  -EINVAL));
	if (addr + len < addr || addr + len > TASK_SIZE)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_ADDR,
						  "region is not all mapped",
						  -EFAULT));
	if (!current->mm)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_NONE,
						  "no memory to register",
						  -EFAULT));
	/* Checked again at insertion; here before pinning anything. */
	mutex_lock(&mn->lock);
	err = mbatch_regions_of(mn, portid) >= MBATCH_REGIONS_MAX;
	mutex_unlock(&mn->lock);
	if (err)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_NONE,
						  "too many regions on this socket",
						  -ENOSPC));

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_NONE,
						  "out of memory for the region",
						  -ENOMEM));
	mbatch_obj_new(MBATCH_OBJ_REGION);
	kref_init(&r->ref);
	INIT_WORK(&r->free_work, mbatch_region_free_work);
	atomic_set(&r->users, 0);
	r->portid = portid;
	r->flags = flags;
	r->addr = addr;
	r->len = len;
	r->nr_pages = len >> PAGE_SHIFT;
	r->mm = current->mm;
	mmgrab(r->mm);
	r->pages = kvmalloc_array(r->nr_pages, sizeof(*r->pages),
				  GFP_KERNEL_ACCOUNT);
	if (!r->pages) {
		mbatch_region_fail(f, MBATCH_RF_NONE,
				   "out of memory for the region", -ENOMEM);
		goto free;
	}
	if (mbatch_region_account(r)) {
		mbatch_region_fail(f, MBATCH_RF_NONE,
				   "region exceeds RLIMIT_MEMLOCK", -ENOMEM);
		goto free;
	}
	if (mbatch_region_pin(r, f))
		goto unaccount;

	/*
	 * The caller's reference, taken before the table's is published: a
	 * REGION_DEL racing with this request may drop that one at once.
	 */
	kref_get(&r->ref);
	mutex_lock(&mn->lock);
	if (mbatch_regions_of(mn, portid) >= MBATCH_REGIONS_MAX) {
		mutex_unlock(&mn->lock);
		mbatch_region_fail(f, MBATCH_RF_NONE,
				   "too many regions on this socket", -ENOSPC);
		goto unpin;
	}
	err = xa_alloc_cyclic(&mn->regions, &r->id, r, xa_limit_31b,
			      &mn->next_rid, GFP_KERNEL);
	mutex_unlock(&mn->lock);
	if (err < 0) {
		mbatch_region_fail(f, MBATCH_RF_NONE, "out of region ids",
				   -ENOSPC);
		goto unpin;
	}
	return r;

unpin:
	unpin_user_pages(r->pages, r->nr_pages);
unaccount:
	mbatch_region_unaccount(r);
free:
	mbatch_region_free(r);
	return ERR_PTR(f->err);
}

/* A reference to region @id, for reporting. */
struct mbatch_region *mbatch_region_get(struct mbatch_net *mn, u32 id)
{
	struct mbatch_region *r;

	xa_lock(&mn->regions);
	r = xa_load(&mn->regions, id);
	if (r)
		kref_get(&r->ref);
	xa_unlock(&mn->regions);
	return r;
}

/* The next region from *@index on, referenced; for dumps. */
struct mbatch_region *mbatch_region_next(struct mbatch_net *mn,
					 unsigned long *index)
{
	struct mbatch_region *r;

	xa_lock(&mn->regions);
	r = xa_find(&mn->regions, index, ULONG_MAX, XA_PRESENT);
	if (r)
		kref_get(&r->ref);
	xa_unlock(&mn->regions);
	return r;
}

/* Region @id for a message of socket @portid sent by the current task. */
struct mbatch_region *mbatch_region_use(struct mbatch_net *mn, u32 id,
					u32 portid,
					struct mbatch_region_fault *f)
{
	struct mbatch_region *r = mbatch_region_get(mn, id);
	int err = 0;

	if (!r)
		return ERR_PTR(mbatch_region_fail(f, MBATCH_RF_NONE,
						  "no such region", -ENOENT));
	if (r->portid != portid)
		err = mbatch_region_fail(f, MBATCH_RF_NONE,
					 "region belongs to another socket",
					 -EPERM);
	else if (r->mm != current->mm)
		err = mbatch_region_fail(f, MBATCH_RF_NONE,
					 "region belongs to another process",
					 -EPERM);
	if (err) {
		mbatch_region_put(r);
		return ERR_PTR(err);
	}
	return r;
}

int mbatch_region_del(struct mbatch_net *mn, u32 id, u32 portid,
		      struct mbatch_region_fault *f)
{
	struct mbatch_region *r;

	mutex_lock(&mn->lock);
	r = xa_load(&mn->regions, id);
	if (!r) {
		mutex_unlock(&mn->lock);
		return mbatch_region_fail(f, MBATCH_RF_NONE, "no such region",
					  -ENOENT);
	}
	if (r->portid != portid) {
		mutex_unlock(&mn->lock);
		return mbatch_region_fail(f, MBATCH_RF_NONE,
					  "region belongs to another socket",
					  -EPERM);
	}
	xa_erase(&mn->regions, id);
	mutex_unlock(&mn->lock);
	mbatch_region_put(r);
	return 0;
}

/*
 * Take out of the table every region (@all) or those of socket @portid and
 * drop the table's references, without the lock: unpinning may take long.
 */
static void mbatch_regions_drop(struct mbatch_net *mn, bool all, u32 portid)
{
	struct mbatch_region *r;
	unsigned long index;

	mutex_lock(&mn->lock);
	xa_for_each(&mn->regions, index, r) {
		if (!all && r->portid != portid)
			continue;
		xa_erase(&mn->regions, index);
		mutex_unlock(&mn->lock);
		mbatch_region_put(r);
		mutex_lock(&mn->lock);
	}
	mutex_unlock(&mn->lock);
}

/* The netlink socket @portid went away: so do its regions. */
void mbatch_regions_release_portid(struct mbatch_net *mn, u32 portid)
{
	mbatch_regions_drop(mn, false, portid);
}

void mbatch_regions_flush(struct mbatch_net *mn)
{
	mbatch_regions_drop(mn, true, 0);
}

int mbatch_region_init(void)
{
	mbatch_region_wq = alloc_workqueue("mbatch_region", WQ_UNBOUND, 0);
	return mbatch_region_wq ? 0 : -ENOMEM;
}

/* Every command is gone by now; wait for the last unpins. */
void mbatch_region_exit(void)
{
	destroy_workqueue(mbatch_region_wq);
}
