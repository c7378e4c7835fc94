// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Presets in a policy: their names and parameters (checked against each
 * preset's table), handed to presets.c at build time.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *const preset_names[P_COUNT] = {
	"front",
	"tamaraw",
	"buflo",
	"regulator",
};

enum { PT_U32, PT_DBL };

struct pparam {
	const char *name;
	int type;
	double lo, hi;
	int lo_open;
	size_t off;
};

/* clang-format off */
#define PU(s, n, f, lo, hi)	  { n, PT_U32, lo, hi, 0, offsetof(struct s, f) }
#define PD(s, n, f, lo, hi, open) { n, PT_DBL, lo, hi, open, offsetof(struct s, f) }
/* clang-format on */

static const struct pparam front_pp[] = {
	PU(wfg_front_params, "N_c", n_client, 1, 100000),
	PU(wfg_front_params, "N_s", n_server, 1, 100000),
	PD(wfg_front_params, "W_min", w_min, 0, 60, 1),
	PD(wfg_front_params, "W_max", w_max, 0, 60, 1),
};

static const struct pparam tamaraw_pp[] = {
	PD(wfg_tamaraw_params, "rho_out", rho_out, 0, 10, 1),
	PD(wfg_tamaraw_params, "rho_in", rho_in, 0, 10, 1),
	PU(wfg_tamaraw_params, "L", L, 1, 100000),
	PU(wfg_tamaraw_params, "size", size, 1, MAX_SIZE),
	PD(wfg_tamaraw_params, "idle_stop", idle_stop, 0, 3600, 0),
};

static const struct pparam buflo_pp[] = {
	PU(wfg_buflo_params, "d", d, 1, MAX_SIZE),
	PD(wfg_buflo_params, "rho", rho, 0, 10, 1),
	PD(wfg_buflo_params, "tau", tau, 0, 3600, 0),
	PD(wfg_buflo_params, "idle_stop", idle_stop, 0, 3600, 1),
};

static const struct pparam regulator_pp[] = {
	PD(wfg_regulator_params, "R", R, 0, 1e6, 1),
	PD(wfg_regulator_params, "D", D, 0, 1, 1),
	PD(wfg_regulator_params, "T", T, 0, 3600, 1),
	PU(wfg_regulator_params, "N", N, 1, 10000000),
	PD(wfg_regulator_params, "U", U, 1, 1000, 0),
	PD(wfg_regulator_params, "C", C, 0, 3600, 0),
	PU(wfg_regulator_params, "start_packets", start_packets, 0, 100000),
	PU(wfg_regulator_params, "size", size, 1, MAX_SIZE),
	PD(wfg_regulator_params, "idle_stop", idle_stop, 0, 3600, 0),
};

static const struct {
	const struct pparam *pp;
	int n;
} preset_pp[P_COUNT] = {
	[P_FRONT] = { front_pp, NF(front_pp) },
	[P_TAMARAW] = { tamaraw_pp, NF(tamaraw_pp) },
	[P_BUFLO] = { buflo_pp, NF(buflo_pp) },
	[P_REGULATOR] = { regulator_pp, NF(regulator_pp) },
};

int wfg_preset_param_defaults(const char *name, char *buf, size_t len)
{
	union {
		struct wfg_front_params front;
		struct wfg_tamaraw_params tamaraw;
		struct wfg_buflo_params buflo;
		struct wfg_regulator_params regulator;
	} u;
	size_t n = 0;
	int p, i;

	for (p = 0; p < P_COUNT && strcmp(preset_names[p], name); p++)
		;
	if (p == P_COUNT || !preset_pp[p].pp)
		return -EINVAL;
	if (p == P_FRONT)
		wfg_front_defaults(&u.front);
	else if (p == P_TAMARAW)
		wfg_tamaraw_defaults(&u.tamaraw);
	else if (p == P_BUFLO)
		wfg_buflo_defaults(&u.buflo);
	else
		wfg_regulator_defaults(&u.regulator);
	buf[0] = 0;
	for (i = 0; i < preset_pp[p].n && n < len; i++) {
		const struct pparam *pp = &preset_pp[p].pp[i];
		const char *at = (const char *)&u + pp->off;

		if (pp->type == PT_U32)
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%u", i ? "," : "", pp->name,
					      *(const __u32 *)at);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%g", i ? "," : "", pp->name,
					      *(const double *)at);
	}
	return n < len ? 0 : -ENOSPC;
}

/*
 * The packet size a shaping preset pads to, in its parameters (NULL: the
 * preset does not shape), and where it was written (NULL: the default).
 */
__u32 *preset_size(struct element *e, yaml_node_t **where)
{
	const char *name = e->preset == P_BUFLO ? "d" : "size";
	const struct pparam *pp = preset_pp[e->preset].pp;
	int i;

	if (e->preset != P_TAMARAW && e->preset != P_BUFLO && e->preset != P_REGULATOR)
		return NULL;
	for (i = 0; i < preset_pp[e->preset].n; i++) {
		if (!strcmp(pp[i].name, name)) {
			*where = e->pnode[i];
			return (__u32 *)((char *)&e->pp + pp[i].off);
		}
	}
	return NULL;
}

/* How the preset's size parameter is spelt ("size", BuFLO's "d"). */
const char *preset_size_name(const struct element *e)
{
	return e->preset == P_BUFLO ? "d" : "size";
}

void parse_preset(struct pctx *c, struct element *e, yaml_node_t *name_node, yaml_node_t *params)
{
	struct field f[MAX_PPARAMS];
	const struct pparam *pp;
	int i, np;

	e->kind = EL_PRESET;
	e->preset = want_enum(c, name_node, "preset", preset_names, P_COUNT);
	if (e->preset < 0) {
		e->bad = 1;
		return;
	}
	snprintf(e->label, sizeof(e->label), "preset '%s'", preset_names[e->preset]);
	switch (e->preset) {
	case P_FRONT:
		wfg_front_defaults(&e->pp.front);
		break;
	case P_TAMARAW:
		wfg_tamaraw_defaults(&e->pp.tamaraw);
		break;
	case P_BUFLO:
		wfg_buflo_defaults(&e->pp.buflo);
		break;
	case P_REGULATOR:
		wfg_regulator_defaults(&e->pp.regulator);
		break;
	default:
		e->bad = 1;
		return;
	}
	if (!params)
		return;
	pp = preset_pp[e->preset].pp;
	np = preset_pp[e->preset].n;
	memset(f, 0, sizeof(f));
	for (i = 0; i < np; i++)
		f[i].name = pp[i].name;
	{
		char what[48];

		snprintf(what, sizeof(what), "params of %s", preset_names[e->preset]);
		if (fields(c, params, what, f, np)) {
			e->bad = 1;
			return;
		}
	}
	for (i = 0; i < np; i++) {
		void *dst = (char *)&e->pp + pp[i].off;

		if (!f[i].val)
			continue;
		e->pnode[i] = f[i].val;
		if (pp[i].type == PT_U32) {
			if (want_u32(c, f[i].val, pp[i].name, (__u32)pp[i].lo, (__u32)pp[i].hi,
				     dst))
				e->bad = 1;
		} else if (want_num(c, f[i].val, pp[i].name, pp[i].lo, pp[i].hi, pp[i].lo_open,
				    dst)) {
			e->bad = 1;
		}
	}
	if (!e->bad && e->preset == P_FRONT && e->pp.front.w_min > e->pp.front.w_max) {
		if (e->pnode[3])
			err_at(c, e->pnode[3], "'W_max' %g is below 'W_min' %g%s",
			       e->pp.front.w_max, e->pp.front.w_min,
			       e->pnode[2] ? "" : " (the default)");
		else
			err_at(c, e->pnode[2], "'W_min' %g is above 'W_max' %g (the default)",
			       e->pp.front.w_min, e->pp.front.w_max);
		e->bad = 1;
	}
}

/* ---------------------------------------------------------------- for pools (pool.c) */

int preset_param(int preset, const char *name)
{
	int i;

	for (i = 0; i < preset_pp[preset].n; i++)
		if (!strcmp(preset_pp[preset].pp[i].name, name))
			return i;
	return -1;
}

const char *preset_param_name(int preset, int i)
{
	return preset_pp[preset].pp[i].name;
}

int preset_param_int(int preset, int i)
{
	return preset_pp[preset].pp[i].type == PT_U32;
}

int preset_param_names(int preset, const char **names, int max)
{
	int i;

	for (i = 0; i < preset_pp[preset].n && i < max; i++)
		names[i] = preset_pp[preset].pp[i].name;
	return i;
}

double preset_param_get(const struct element *e, int i)
{
	const struct pparam *pp = &preset_pp[e->preset].pp[i];
	const char *at = (const char *)&e->pp + pp->off;

	return pp->type == PT_U32 ? (double)*(const __u32 *)at : *(const double *)at;
}

void preset_param_set(struct element *e, int i, double v)
{
	const struct pparam *pp = &preset_pp[e->preset].pp[i];
	char *at = (char *)&e->pp + pp->off;

	if (pp->type == PT_U32)
		*(__u32 *)at = (__u32)v;
	else
		*(double *)at = v;
}

/* One end of a range: the type and range the parameter itself takes. */
int want_preset_value(struct pctx *c, int preset, int i, const yaml_node_t *n, double *out)
{
	const struct pparam *pp = &preset_pp[preset].pp[i];
	__u32 u;

	if (pp->type == PT_DBL)
		return want_num(c, n, pp->name, pp->lo, pp->hi, pp->lo_open, out);
	if (want_u32(c, n, pp->name, (__u32)pp->lo, (__u32)pp->hi, &u))
		return -1;
	*out = u;
	return 0;
}
