// SPDX-License-Identifier: GPL-2.0
/*
 * mbatch: a checkpointed batch message queue in front of a block device.
 *
 * Module init and exit: a symmetric ladder. The genetlink family is
 * registered last and unregistered first, so no request can arrive before
 * everything it needs exists or after it is gone. Namespaces go before the
 * caches and workqueues their objects use.
 */
#include <linux/module.h>

#include "cmd.h"
#include "initiator.h"
#include "link.h"
#include "local.h"
#include "netlink.h"
#include "netns.h"
#include "participant.h"
#include "peer.h"
#include "queue.h"
#include "region.h"

static int __init mbatch_init(void)
{
	int err;

	err = mbatch_region_init();
	if (err)
		return err;
	err = mbatch_cmd_init();
	if (err)
		goto err_region;
	err = mbatch_local_init();
	if (err)
		goto err_cmd;
	err = mbatch_initiator_init();
	if (err)
		goto err_local;
	err = mbatch_participant_init();
	if (err)
		goto err_initiator;
	err = mbatch_queue_init();
	if (err)
		goto err_participant;
	err = mbatch_link_init();
	if (err)
		goto err_queue;
	err = mbatch_peer_init();
	if (err)
		goto err_link;
	err = mbatch_netns_init();
	if (err)
		goto err_peer;
	err = mbatch_genl_init();
	if (err)
		goto err_netns;
	pr_info("mbatch " MBATCH_MODULE_VERSION " loaded\n");
	return 0;

err_netns:
	mbatch_netns_exit();
err_peer:
	mbatch_peer_exit();
err_link:
	mbatch_link_exit();
err_queue:
	mbatch_queue_exit();
err_participant:
	mbatch_participant_exit();
err_initiator:
	mbatch_initiator_exit();
err_local:
	mbatch_local_exit();
err_cmd:
	mbatch_cmd_exit();
err_region:
	mbatch_region_exit();
	return err;
}

static void __exit mbatch_exit(void)
{
	mbatch_genl_exit();
	mbatch_netns_exit();
	mbatch_peer_exit();
	mbatch_link_exit();
	mbatch_queue_exit();
	mbatch_participant_exit();
	mbatch_initiator_exit();
	mbatch_local_exit();
	mbatch_cmd_exit();
	mbatch_region_exit();
}

module_init(mbatch_init);
module_exit(mbatch_exit);

MODULE_DESCRIPTION("Checkpointed batch message queue for block devices");
MODULE_AUTHOR("The mbatch developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MBATCH_MODULE_VERSION);
MODULE_ALIAS_GENL_FAMILY(MBATCH_GENL_NAME);
