// SPDX-License-Identifier: GPL-2.0
/*
 * Negative control for the mbatch test harness.
 *
 * Each load plants at most one bug, chosen with the "bug" parameter. The
 * harness must flag every planted bug with the checks it runs after each
 * real test (dmesg scan and taint), and must not flag a clean load.
 *
 *   bug=none      clean load and unload: must NOT be flagged
 *   bug=warn      WARN_ON(1) at load
 *   bug=refcount  refcount_t underflow at load
 *   bug=leak      an object left in the module's own kmem_cache at unload
 *   bug=redzone   a write one byte past a slab object (slub_debug redzone)
 *
 * Never load this module outside a throw-away test VM.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/string.h>

#define CTL_OBJ_SIZE	64

static char *bug = "none";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "planted bug: none, warn, refcount, leak, redzone");

struct ctl_obj {
	u8 data[CTL_OBJ_SIZE];
};

static struct kmem_cache *ctl_cache;
/*
 * bug=leak leaves several objects: with kfence.sample_interval=1 (6.12's
 * command line) one allocation may come from KFENCE, and
 * kmem_cache_destroy() turns a KFENCE object it finds into a silent
 * zombie rather than reporting it. KFENCE takes at most one allocation per
 * sample interval, so the others are the cache's own and are reported.
 */
#define CTL_LEAKS	8
static struct ctl_obj *ctl_leaked[CTL_LEAKS];

static noinline void ctl_plant_warn(void)
{
	WARN_ON(1);
}

static noinline void ctl_plant_refcount(void)
{
	refcount_t ref;

	refcount_set(&ref, 1);
	if (refcount_dec_and_test(&ref) && refcount_dec_and_test(&ref))
		pr_err("refcount underflow went unnoticed\n");
}

static noinline void ctl_scribble(u8 *p, size_t off)
{
	/* Hidden from the compiler's bounds checks on purpose. */
	OPTIMIZER_HIDE_VAR(p);
	p[off] = 0xa5;
}

static noinline int ctl_plant_redzone(void)
{
	struct ctl_obj *obj;

	obj = kmem_cache_alloc(ctl_cache, GFP_KERNEL);
	if (!obj)
		return -ENOMEM;
	ctl_scribble(obj->data, CTL_OBJ_SIZE);	/* one past the end */
	kmem_cache_free(ctl_cache, obj);
	return 0;
}

static int __init ctl_init(void)
{
	int ret = 0;

	ctl_cache = kmem_cache_create("mbatch_control", sizeof(struct ctl_obj),
				      0, 0, NULL);
	if (!ctl_cache)
		return -ENOMEM;

	if (sysfs_streq(bug, "none")) {
		struct ctl_obj *obj = kmem_cache_zalloc(ctl_cache, GFP_KERNEL);

		if (obj)
			kmem_cache_free(ctl_cache, obj);
		else
			ret = -ENOMEM;
	} else if (sysfs_streq(bug, "warn")) {
		ctl_plant_warn();
	} else if (sysfs_streq(bug, "refcount")) {
		ctl_plant_refcount();
	} else if (sysfs_streq(bug, "leak")) {
		int i;

		for (i = 0; i < CTL_LEAKS && !ret; i++) {
			ctl_leaked[i] = kmem_cache_alloc(ctl_cache, GFP_KERNEL);
			if (!ctl_leaked[i])
				ret = -ENOMEM;
		}
	} else if (sysfs_streq(bug, "redzone")) {
		ret = ctl_plant_redzone();
	} else {
		pr_err("unknown bug '%s'\n", bug);
		ret = -EINVAL;
	}

	if (ret)
		kmem_cache_destroy(ctl_cache);
	else
		pr_info("loaded, bug=%s\n", bug);
	return ret;
}

static void __exit ctl_exit(void)
{
	/* With bug=leak, ctl_leaked is deliberately not freed. */
	kmem_cache_destroy(ctl_cache);
	pr_info("unloaded\n");
}

module_init(ctl_init);
module_exit(ctl_exit);
MODULE_DESCRIPTION("mbatch test harness negative control (planted bugs)");
MODULE_LICENSE("GPL");
