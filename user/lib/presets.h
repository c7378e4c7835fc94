/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Published defences as core configurations, parameters named as in their
 * papers and defaulting to the papers' values (docs/presets.md gives the
 * sources). Each preset fills its part of one side (client or server): FRONT
 * the cover schedule, Tamaraw/BuFLO/RegulaTor the pacer and size shaping,
 * RegulaTor's client side a machine. Presets can be combined with other
 * machines in the same side.
 */
#ifndef WFGUARD_USER_PRESETS_H
#define WFGUARD_USER_PRESETS_H

#include "wfguard/datapath.h" /* enum wfg_role */
#include "side_build.h"

/* FRONT (Gong and Wang, USENIX Security 2020). */
struct wfg_front_params {
	__u32 n_client;	  /* N_c: client covers ~ U[1, N_c] */
	__u32 n_server;	  /* N_s */
	double w_min;	  /* W_min, seconds */
	double w_max;	  /* W_max, seconds */
	__u32 cover_size; /* bytes of each cover */
};

/* Tamaraw (Cai et al., CCS 2014), BuFLO (Dyer et al., S&P 2012). */
struct wfg_tamaraw_params {
	double rho_out;	  /* seconds between client->server packets */
	double rho_in;	  /* seconds between server->client packets */
	__u32 L;	  /* pad each direction's packet count to a multiple of L */
	__u32 size;	  /* every packet padded to this many bytes */
	double idle_stop; /* seconds without real packets that end a page load */
};

struct wfg_buflo_params {
	__u32 d;    /* packet size, bytes */
	double rho; /* seconds between packets, both directions */
	double tau; /* minimum seconds of constant-rate traffic */
	double idle_stop;
};

/* RegulaTor (Holland and Hopper, PETS 2022). */
struct wfg_regulator_params {
	double R;	     /* initial (surge) rate, packets per second, server side */
	double D;	     /* rate decay per second */
	double T;	     /* surge threshold */
	__u32 N;	     /* padding budget, packets per page load */
	double U;	     /* client: one upload packet per U download packets */
	double C;	     /* client: delay cap, seconds */
	__u32 start_packets; /* start phase: packets before the schedule starts; 0 = none */
	__u32 size;	     /* packet size, bytes */
	double idle_stop;
};

void wfg_front_defaults(struct wfg_front_params *p);
void wfg_tamaraw_defaults(struct wfg_tamaraw_params *p);
void wfg_buflo_defaults(struct wfg_buflo_params *p);
void wfg_regulator_defaults(struct wfg_regulator_params *p);

int wfg_preset_front(struct wfg_side_builder *sb, enum wfg_role role,
		     const struct wfg_front_params *p);
int wfg_preset_tamaraw(struct wfg_side_builder *sb, enum wfg_role role,
		       const struct wfg_tamaraw_params *p);
int wfg_preset_buflo(struct wfg_side_builder *sb, enum wfg_role role,
		     const struct wfg_buflo_params *p);
int wfg_preset_regulator(struct wfg_side_builder *sb, enum wfg_role role,
			 const struct wfg_regulator_params *p);

/*
 * A preset's parameters with their defaults as "key=value,..." in the policy
 * schema's names and order (policy/preset_glue.c holds the table): front,
 * tamaraw, buflo, regulator. -EINVAL for another name, -ENOSPC if len is short.
 */
int wfg_preset_param_defaults(const char *name, char *buf, size_t len);

/*
 * Both sides ([WFG_ROLE_CLIENT], [WFG_ROLE_SERVER]) of a named preset with the
 * papers' defaults: none, padme, front, tamaraw, buflo, regulator. For the
 * harness, benchmarks and demos; operators write policy files.
 */
int wfg_preset_sides(const char *name, struct wfg_side_cfg sides[2], char *err, size_t errlen);

#endif
