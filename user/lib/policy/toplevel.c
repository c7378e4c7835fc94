// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The document's top level: version, role, shim, flows, limits and the defence list. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *const side_names[2] = { "client", "server" };
const char *const profile_names[3] = { "generic", "quic", "wireguard" };

const char *sides_text(unsigned sides)
{
	return sides == (SIDE_C | SIDE_S) ? "client and server sides"
	       : sides == SIDE_C	  ? "client side"
					  : "server side";
}

/* `side: client|server|both` */
int want_sides(struct pctx *c, const yaml_node_t *n, unsigned *sides)
{
	static const char *const names[] = { "client", "server", "both" };
	int i = want_enum(c, n, "side", names, 3);

	if (i < 0)
		return -1;
	*sides = i == 0 ? SIDE_C : i == 1 ? SIDE_S : SIDE_C | SIDE_S;
	return 0;
}

/* ================================================================ shim, flows, limits */

static void parse_shim(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("profile"), F("quic_dcid_len"), F("keys") };
	struct wfg_policy *dp = &c->cp->dp;
	const char *keys;
	int i;

	if (fields(c, n, "shim", f, NF(f)))
		return;
	if (V(f, "profile")) {
		i = want_enum(c, V(f, "profile"), "shim profile", profile_names, 3);
		if (i < 0)
			return;
		dp->profile = (__u32)i;
	}
	/* Each flow learns its own length from its handshake (bpf/lib/profile.h);
	 * this is only what covers use until then. */
	if (V(f, "quic_dcid_len")) {
		if (dp->profile != WFG_PROFILE_QUIC)
			err_at(c, K(f, "quic_dcid_len"),
			       "'quic_dcid_len' only applies to profile quic");
		else
			want_u32(c, V(f, "quic_dcid_len"), "quic_dcid_len", 0, WFG_QUIC_MAX_CID,
				 &dp->quic_dcid_len);
	} else if (dp->profile == WFG_PROFILE_QUIC) {
		dp->quic_dcid_len = WFG_QUIC_DCID_LEN_DEFAULT;
	}
	if (V(f, "keys") && !want_str(c, V(f, "keys"), "keys", &keys)) {
		size_t cap = sizeof(c->cp->keys_path);
		int len = 0;

		if (!*keys)
			err_at(c, V(f, "keys"), "'keys' must name a file");
		else if (keys[0] != '/' && c->basedir && strcmp(c->basedir, "."))
			len = snprintf(c->cp->keys_path, cap, "%s/%s", c->basedir, keys);
		else
			len = snprintf(c->cp->keys_path, cap, "%s", keys);
		if (*keys && (size_t)len >= cap) {
			err_at(c, V(f, "keys"), "'keys': path too long (at most %zu bytes)",
			       cap - 1);
			c->cp->keys_path[0] = 0;
		}
	}
}

static void parse_flows(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("max") };

	if (fields(c, n, "flows", f, NF(f)))
		return;
	if (V(f, "max"))
		want_u32(c, V(f, "max"), "max", MIN_FLOWS, MAX_FLOWS, &c->cp->max_flows);
}

/* A fraction of limits: given 0 is "nothing beyond the allowance" (see docs/policy.md). */
void parse_frac(struct pctx *c, yaml_node_t *v, const char *name, double *out, int *zero,
		yaml_node_t **node)
{
	if (!v || want_num(c, v, name, 0, 1, 0, out))
		return;
	*zero = *out == 0;
	*node = v;
}

static void parse_side_limits(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("max_padding_frac"), F("max_blocking_frac") };
	struct ir *ir = c->ir;

	if (fields(c, n, "limits", f, NF(f)))
		return;
	parse_frac(c, V(f, "max_padding_frac"), "max_padding_frac", &ir->pad_frac,
		   &ir->pad_frac_zero, &ir->pad_frac_node);
	parse_frac(c, V(f, "max_blocking_frac"), "max_blocking_frac", &ir->block_frac,
		   &ir->block_frac_zero, &ir->block_frac_node);
}

/* ================================================================ defence */

static void parse_element(struct pctx *c, yaml_node_t *n)
{
	struct ir *ir = c->ir;
	struct field f[] = { F("preset"), F("params"), F("side"), F("maybenot"), F("machine") };
	struct element *e;
	yaml_node_t *kind_key = NULL;
	int i, nkinds = 0;

	if (ir->nelem >= MAX_ELEMS) {
		err_at(c, n, "too many defence elements: at most %d", MAX_ELEMS);
		return;
	}
	e = &ir->el[ir->nelem++];
	e->node = n;
	e->sides = SIDE_C | SIDE_S;
	if (is_scalar_value(n)) { /* - front */
		parse_preset(c, e, n, NULL);
		return;
	}
	if (fields(c, n, "a defence element", f, NF(f))) {
		e->bad = 1;
		return;
	}
	for (i = 0; i < NF(f); i++) {
		if (!f[i].key || (i != 0 && i != 3 && i != 4))
			continue;
		if (nkinds++) {
			err_at(c, f[i].key,
			       "'%s' and '%s' in one defence element: make them two list items",
			       sval(kind_key), f[i].name);
			e->bad = 1;
			return;
		}
		kind_key = f[i].key;
	}
	if (!nkinds) {
		err_at(c, n, "a defence element needs one of 'preset', 'maybenot' or 'machine'");
		e->bad = 1;
		return;
	}
	if (f[1].key && !f[0].key) {
		err_at(c, f[1].key, "'params' belongs to a preset");
		e->bad = 1;
	}
	if (f[2].key && !f[0].key) {
		err_at(c, f[2].key, "%s",
		       f[4].key ? "put 'side' inside 'machine'"
				: "a maybenot element names its sides with 'client' and 'server'");
		e->bad = 1;
	}
	if (f[0].key) {
		parse_preset(c, e, f[0].val, f[1].val);
		if (f[2].val && want_sides(c, f[2].val, &e->sides))
			e->bad = 1;
	} else if (f[3].key) {
		e->sides = 0;
		parse_maybenot(c, e, f[3].val);
	} else {
		parse_machine(c, e, f[4].val);
	}
}

static void parse_defence(struct pctx *c, yaml_node_t *n)
{
	yaml_node_item_t *it;

	if (vkind(n) != V_LIST) {
		err_at(c, n,
		       "defence must be a list of elements (preset, maybenot, machine), got %s",
		       vkind_name[vkind(n)]);
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
		parse_element(c, nd(c, *it));
}

/* ================================================================ top level */

/* tunnel: {unit: peer | device} */
static void parse_tunnel(struct pctx *c, yaml_node_t *n)
{
	static const char *const units[] = { "peer", "device" };
	struct field f[] = { F("unit") };
	int r;

	if (fields(c, n, "tunnel", f, NF(f)))
		return;
	if (c->cp->dp.mode != WFG_MODE_TUNNEL) {
		err_at(c, n, "'tunnel' settings need `mode: tunnel`");
		return;
	}
	if (V(f, "unit")) {
		r = want_enum(c, V(f, "unit"), "unit", units, 2);
		if (r >= 0) {
			c->cp->dp.unit = (__u32)r;
			c->ir->unit_given = 1;
		}
	}
}

/* episode: {idle: MS} or `episode: off` (the flow is one episode). */
static void parse_episode(struct pctx *c, yaml_node_t *n)
{
	struct field f[] = { F("idle") };

	if (vkind(n) != V_MAP && !strcmp(sval(n), "off")) {
		c->ir->episode_idle_ms = 0;
		return;
	}
	if (fields(c, n, "episode", f, NF(f)))
		return;
	if (V(f, "idle"))
		want_u32(c, V(f, "idle"), "idle (milliseconds)", 0, 3600000,
			 &c->ir->episode_idle_ms);
}

void parse_top(struct pctx *c, yaml_node_t *root)
{
	struct field f[] = { F("version"), F("role"),
			     F("match"),   F("mode"),
			     F("tunnel"),  F("episode"),
			     F("shim"),	   F("flows"),
			     F("shape"),   F("cover_size"),
			     F("limits"),  { .name = "defence", .alias = "defense" },
			     F("pool") };
	static const char *const modes[] = { "shim", "tunnel" };
	struct ir *ir = c->ir;
	__u32 version;
	int r;

	if (fields(c, root, "the policy", f, NF(f)))
		return;
	if (!V(f, "version"))
		missing(c, root, &f[0], "(write version: 1)");
	else if (vkind(V(f, "version")) == V_INT && strcmp(sval(V(f, "version")), "1"))
		err_at(c, V(f, "version"),
		       "unsupported policy version %.20s (this wfguard reads version 1)",
		       sval(V(f, "version")));
	else
		want_u32(c, V(f, "version"), "version", 1, 1, &version);
	ir->role = WFG_ROLE_SERVER;
	if (V(f, "role")) {
		r = want_enum(c, V(f, "role"), "role", side_names, 2);
		if (r >= 0)
			ir->role = r;
	}
	if (V(f, "mode")) {
		r = want_enum(c, V(f, "mode"), "mode", modes, 2);
		if (r >= 0)
			c->cp->dp.mode = (__u32)r;
	}
	if (V(f, "tunnel"))
		parse_tunnel(c, V(f, "tunnel"));
	/* a server defends each peer; a client is one tunnel to one peer */
	if (!ir->unit_given)
		c->cp->dp.unit = ir->role == WFG_ROLE_CLIENT ? WFG_UNIT_DEVICE : WFG_UNIT_PEER;
	ir->episode_idle_ms = WFG_EPISODE_IDLE_DEFAULT_MS;
	if (V(f, "episode"))
		parse_episode(c, V(f, "episode"));
	if (V(f, "shim") && c->cp->dp.mode == WFG_MODE_TUNNEL)
		err_at(c, V(f, "shim"),
		       "tunnel mode has no shim: its padding and covers live inside the tunnel's "
		       "encryption (remove 'shim', or use `mode: shim` on the underlay)");
	if (!V(f, "match"))
		missing(c, root, &f[2], "(the rules that say which flows this policy defends)");
	else
		parse_match(c, V(f, "match"));
	if (V(f, "shim"))
		parse_shim(c, V(f, "shim"));
	c->cp->max_flows = DEF_FLOWS;
	if (V(f, "flows"))
		parse_flows(c, V(f, "flows"));
	if (V(f, "shape"))
		parse_shape(c, V(f, "shape"));
	if (V(f, "cover_size") &&
	    !want_u32(c, V(f, "cover_size"), "cover_size", 1, MAX_SIZE, &ir->cover_size))
		ir->cover_node = V(f, "cover_size");
	if (V(f, "limits"))
		parse_side_limits(c, V(f, "limits"));
	if (V(f, "defence"))
		parse_defence(c, V(f, "defence"));
	if (V(f, "pool")) /* after the defence list: it varies the list's presets */
		parse_pool(c, V(f, "pool"));
}
