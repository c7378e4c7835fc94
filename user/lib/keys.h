/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shim keys: the key file both ends share, and the two key slots of a live
 * attachment (struct wfg_ctl: the sender seals with keys[key_slot], the
 * receiver opens with either). Rotation (docs/policy.md, "Keys") moves a new
 * key through the slots in three steps, each run on both ends before the next:
 *
 *   rotate  the new key into the spare slot (the one not sent with):
 *           both keys are accepted, the old one still sends;
 *   switch  send with the new key (the peer accepts it since its rotate);
 *   retire  the old key's slot gets the new key: only the new one is accepted.
 *
 * Only the control map's key fields change: the policy, its generation and
 * every flow's state stay, so no flow restarts. Errors come back as -errno
 * with a one-line reason in err; nothing is printed here.
 */
#ifndef WFGUARD_USER_KEYS_H
#define WFGUARD_USER_KEYS_H

#include <stddef.h>

#include "loader.h"
#include "wfguard/shim.h"

/*
 * Read a key file: one slot a line, "k0 k1" in hex (slot 0, then slot 1; one
 * line: both slots hold it); '#' lines and empty lines skipped. What attach
 * loads: slot 0 sends, both are accepted.
 */
int wfg_keys_load(const char *path, struct wfg_shim_key keys[2], char *err, size_t errlen);

/* A key's public name: 32 bits of a keyed hash of a constant (shows which key
 * is where, and that both ends agree, without showing the key). */
__u32 wfg_key_id(const struct wfg_shim_key *k);

/* The live key slots of an attachment (the control map). */
int wfg_dp_keys_read(const struct wfg_dp *dp, struct wfg_ctl *ctl, char *err, size_t errlen);

/* The three rotation steps on a live attachment (see above). */
int wfg_dp_keys_rotate(const struct wfg_dp *dp, const struct wfg_shim_key *next, char *err,
		       size_t errlen);
int wfg_dp_keys_switch(const struct wfg_dp *dp, char *err, size_t errlen);
int wfg_dp_keys_retire(const struct wfg_dp *dp, char *err, size_t errlen);

/*
 * How a key file fits the live slots, for `policy apply` (a policy names its
 * key file): the file sends with its slot 0 and accepts both of its keys.
 */
enum wfg_keys_fit {
	WFG_KEYS_SAME,	      /* the live end sends and accepts what the file says */
	WFG_KEYS_ADDS_SPARE,  /* same sending key; the file's other key goes in the
			       * spare slot, which accepts nothing the file drops */
	WFG_KEYS_OTHER_SEND,  /* the file sends with another key than the live end */
	WFG_KEYS_DROPS_ACCEPT /* the live end accepts a key the file does not (a
			       * rotation under way: the peer may still send with it) */
};

/* Compare; why gets one line naming the key ids when the fit is not SAME. */
enum wfg_keys_fit wfg_keys_fit(const struct wfg_ctl *live, const struct wfg_shim_key file[2],
			       char *why, size_t len);

/*
 * Make the live slots say what the file says: ADDS_SPARE writes the spare
 * slot only; otherwise (forced) both slots as attach would, slot 0 sending.
 */
int wfg_dp_keys_install(const struct wfg_dp *dp, const struct wfg_shim_key file[2],
			enum wfg_keys_fit fit, char *err, size_t errlen);

#endif
