/* SPDX-License-Identifier: GPL-2.0 */
/* mbatch: participant sessions, a peer's sessions on a queue of this node. */
#ifndef _MBATCH_PARTICIPANT_H
#define _MBATCH_PARTICIPANT_H

struct mbatch_net;
struct mbatch_peer_ops;

/* How a peer opens sessions here (given to mbatch_peer_new()). */
extern const struct mbatch_peer_ops mbatch_participant_peer_ops;

void mbatch_participants_restore(struct mbatch_net *mn, const char *name);
int mbatch_participant_init(void);
void mbatch_participant_exit(void);

#endif /* _MBATCH_PARTICIPANT_H */
