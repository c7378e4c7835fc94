// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "err.h"
#include "keys.h"

int wfg_keys_load(const char *path, struct wfg_shim_key keys[2], char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	unsigned long long a, b;
	int slot = 0, lineno = 0;
	char line[256];

	if (!f)
		return wfg_err(err, errlen, EINVAL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n' || slot == 2)
			continue;
		if (sscanf(line, "%llx %llx", &a, &b) != 2) {
			fclose(f);
			return wfg_err(err, errlen, EINVAL, "%s:%d:1: expected two hex words", path,
				       lineno);
		}
		keys[slot].k0 = a;
		keys[slot].k1 = b;
		slot++;
	}
	fclose(f);
	if (!slot)
		return wfg_err(err, errlen, EINVAL, "%s: no key", path);
	if (slot == 1)
		keys[1] = keys[0];
	return 0;
}

__u32 wfg_key_id(const struct wfg_shim_key *k)
{
	/* "wfg keyid", a message no trailer can be (trailers hash 16, 28 or 64+ bytes) */
	static const __u64 name = 0x6469796b20676677ULL;

	return (__u32)(wfg_siphash24(k, &name, 1, 0, 8) >> 32);
}

static int same_key(const struct wfg_shim_key *a, const struct wfg_shim_key *b)
{
	return a->k0 == b->k0 && a->k1 == b->k1;
}

int wfg_dp_keys_read(const struct wfg_dp *dp, struct wfg_ctl *ctl, char *err, size_t errlen)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->ctl_fd, &zero, ctl))
		return wfg_err(err, errlen, errno, "%s: cannot read the control map: %s",
			       dp->ifname, strerror(errno));
	ctl->key_slot &= 1;
	return 0;
}

/*
 * Write the control map back. The programs read it in place while the kernel
 * copies the new value over it: a field that keeps its value is never seen
 * changing, so only the slot being written (the spare, in rotate and retire)
 * or key_slot (switch) can be seen half-way, and no packet uses the spare
 * key before the peer's switch.
 */
static int keys_write(const struct wfg_dp *dp, const struct wfg_ctl *ctl, char *err, size_t errlen)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(dp->ctl_fd, &zero, ctl, BPF_EXIST))
		return wfg_err(err, errlen, errno, "%s: cannot write the control map: %s",
			       dp->ifname, strerror(errno));
	return 0;
}

int wfg_dp_keys_rotate(const struct wfg_dp *dp, const struct wfg_shim_key *next, char *err,
		       size_t errlen)
{
	struct wfg_ctl ctl;
	int rc = wfg_dp_keys_read(dp, &ctl, err, errlen);

	if (rc)
		return rc;
	if (same_key(&ctl.keys[ctl.key_slot], next))
		return wfg_err(err, errlen, EINVAL,
			       "%s: already sends with key %08x: nothing to rotate to", dp->ifname,
			       wfg_key_id(next));
	ctl.keys[1 - ctl.key_slot] = *next;
	return keys_write(dp, &ctl, err, errlen);
}

int wfg_dp_keys_switch(const struct wfg_dp *dp, char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	int rc = wfg_dp_keys_read(dp, &ctl, err, errlen);

	if (rc)
		return rc;
	if (same_key(&ctl.keys[0], &ctl.keys[1]))
		return wfg_err(err, errlen, EINVAL,
			       "%s: both slots hold key %08x: nothing to switch to (`wfguard keys "
			       "rotate %s --keys FILE` first)",
			       dp->ifname, wfg_key_id(&ctl.keys[0]), dp->ifname);
	ctl.key_slot = 1 - ctl.key_slot;
	return keys_write(dp, &ctl, err, errlen);
}

int wfg_dp_keys_retire(const struct wfg_dp *dp, char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	int rc = wfg_dp_keys_read(dp, &ctl, err, errlen);

	if (rc)
		return rc;
	if (same_key(&ctl.keys[0], &ctl.keys[1]))
		return wfg_err(err, errlen, EINVAL,
			       "%s: both slots hold key %08x already: nothing to retire",
			       dp->ifname, wfg_key_id(&ctl.keys[0]));
	ctl.keys[1 - ctl.key_slot] = ctl.keys[ctl.key_slot];
	return keys_write(dp, &ctl, err, errlen);
}

enum wfg_keys_fit wfg_keys_fit(const struct wfg_ctl *live, const struct wfg_shim_key file[2],
			       char *why, size_t len)
{
	const struct wfg_shim_key *send = &live->keys[live->key_slot & 1];
	const struct wfg_shim_key *spare = &live->keys[1 - (live->key_slot & 1)];

	if (!same_key(send, &file[0])) {
		snprintf(why, len, "the key file sends with key %08x, the live end with %08x",
			 wfg_key_id(&file[0]), wfg_key_id(send));
		return WFG_KEYS_OTHER_SEND;
	}
	if (same_key(spare, &file[1]))
		return WFG_KEYS_SAME;
	if (same_key(spare, &file[0])) {
		snprintf(why, len, "the spare slot takes the key file's key %08x",
			 wfg_key_id(&file[1]));
		return WFG_KEYS_ADDS_SPARE;
	}
	snprintf(why, len,
		 "the live end also accepts key %08x, which the key file lacks (a rotation "
		 "under way? the peer may still send with it)",
		 wfg_key_id(spare));
	return WFG_KEYS_DROPS_ACCEPT;
}

int wfg_dp_keys_install(const struct wfg_dp *dp, const struct wfg_shim_key file[2],
			enum wfg_keys_fit fit, char *err, size_t errlen)
{
	struct wfg_ctl ctl;
	int rc;

	if (fit == WFG_KEYS_SAME)
		return 0;
	rc = wfg_dp_keys_read(dp, &ctl, err, errlen);
	if (rc)
		return rc;
	if (fit == WFG_KEYS_ADDS_SPARE) {
		ctl.keys[1 - ctl.key_slot] = file[1];
	} else {
		ctl.keys[0] = file[0];
		ctl.keys[1] = file[1];
		ctl.key_slot = 0;
	}
	return keys_write(dp, &ctl, err, errlen);
}
