// SPDX-License-Identifier: GPL-2.0
/*
 * mbatch: a checkpointed batch message queue in front of a block device.
 *
 * Module init and exit: a symmetric ladder. The genetlink family is
 * registered last and unregistered first, so no request can arrive before
 * everything it needs exists or after it is gone.
 */
#include <linux/module.h>

#include "peer.h"

static int __init mbatch_init(void)
{
	int err;

	err = mbatch_cmd_cache_init();
	if (err)
		return err;
	err = mbatch_queue_init();
	if (err)
		goto err_cmd;
	err = mbatch_link_init();
	if (err)
		goto err_queue;
	err = mbatch_netns_init();
	if (err)
		goto err_link;
	err = mbatch_genl_init();
	if (err)
		goto err_netns;
	pr_info("mbatch " MBATCH_MODULE_VERSION " loaded\n");
	return 0;

err_netns:
	mbatch_netns_exit();
err_link:
	mbatch_link_exit();
err_queue:
	mbatch_queue_exit();
err_cmd:
	mbatch_cmd_cache_exit();
	return err;
}

static void __exit mbatch_exit(void)
{
	mbatch_genl_exit();
	mbatch_netns_exit();
	mbatch_link_exit();
	mbatch_queue_exit();
	mbatch_cmd_cache_exit();
}

module_init(mbatch_init);
module_exit(mbatch_exit);

MODULE_DESCRIPTION("Checkpointed batch message queue for block devices");
MODULE_AUTHOR("The mbatch developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MBATCH_MODULE_VERSION);
MODULE_ALIAS_GENL_FAMILY(MBATCH_GENL_NAME);
