/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-mapper devices for the mbatch selftests, made through the dm ioctl
 * interface (/dev/mapper/control) without dmsetup. Used to give one region
 * of a device a delay of its own (dm-delay over part of a null_blk, linear
 * over the rest), so that one command is really slower than the others:
 * timer-mode null_blk completes every request after the same delay.
 * Without udev a dm device appears only as /dev/dm-N.
 */
#ifndef MB_DM_H
#define MB_DM_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/dm-ioctl.h>

struct mb_dm_target {
	uint64_t start, len;		/* 512-byte sectors */
	const char *type;		/* "linear", "delay", ... */
	char params[192];
};

#define MB_DM_BUF	16384

static inline void mb_dm_init(struct dm_ioctl *io, const char *name)
{
	memset(io, 0, MB_DM_BUF);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = MB_DM_BUF;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
}

static inline int mb_dm_control(void)
{
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT &&
	    system("modprobe dm_mod >/dev/null 2>&1") == 0)
		fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Remove dm device @name; 0 or -errno (it may be busy for a moment). */
static inline int mb_dm_remove(const char *name)
{
	struct dm_ioctl *io = malloc(MB_DM_BUF);
	int fd = mb_dm_control(), ret = 0, i;

	if (!io || fd < 0) {
		free(io);
		return fd < 0 ? fd : -ENOMEM;
	}
	for (i = 0; i < 50; i++) {
		mb_dm_init(io, name);
		ret = ioctl(fd, DM_DEV_REMOVE, io) ? -errno : 0;
		if (ret != -EBUSY)
			break;
		usleep(100000);
	}
	close(fd);
	free(io);
	return ret;
}

/*
 * Create and activate dm device @name with table @t[0..n); its node
 * (/dev/dm-N) goes into @dev. 0 or -errno; on failure nothing is left.
 */
static inline int mb_dm_create(const char *name, const struct mb_dm_target *t,
			       int n, char *dev, size_t devlen)
{
	struct dm_ioctl *io = malloc(MB_DM_BUF);
	int fd = mb_dm_control(), ret, i;
	unsigned int minor_nr;
	size_t off;

	if (!io || fd < 0) {
		free(io);
		return fd < 0 ? fd : -ENOMEM;
	}
	mb_dm_init(io, name);
	if (ioctl(fd, DM_DEV_CREATE, io)) {
		ret = -errno;
		goto out;
	}
	minor_nr = minor(io->dev);

	mb_dm_init(io, name);
	io->target_count = n;
	off = sizeof(*io);
	for (i = 0; i < n; i++) {
		struct dm_target_spec *sp = (void *)((char *)io + off);
		size_t plen = strlen(t[i].params) + 1, sz;

		sz = (sizeof(*sp) + plen + 7) & ~(size_t)7;
		if (off + sz > MB_DM_BUF) {
			ret = -E2BIG;
			goto remove;
		}
		sp->sector_start = t[i].start;
		sp->length = t[i].len;
		snprintf(sp->target_type, sizeof(sp->target_type), "%s",
			 t[i].type);
		memcpy(sp + 1, t[i].params, plen);
		sp->next = sz;
		off += sz;
	}
	io->data_size = off;
	if (ioctl(fd, DM_TABLE_LOAD, io)) {
		ret = -errno;
		goto remove;
	}
	mb_dm_init(io, name);		/* flags 0: resume, the table goes live */
	if (ioctl(fd, DM_DEV_SUSPEND, io)) {
		ret = -errno;
		goto remove;
	}
	snprintf(dev, devlen, "/dev/dm-%u", minor_nr);
	for (i = 0; i < 100 && access(dev, F_OK); i++)
		usleep(10000);
	ret = access(dev, F_OK) ? -ENOENT : 0;
	if (!ret)
		goto out;
remove:
	close(fd);
	fd = -1;
	mb_dm_remove(name);
out:
	if (fd >= 0)
		close(fd);
	free(io);
	return ret;
}

/* "MAJ:MIN" of a block device node, for a table; 0 or -errno. */
static inline int mb_dm_devno(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	snprintf(buf, len, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

#endif /* MB_DM_H */
