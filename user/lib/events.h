/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The names of the core's events (enum wfg_event), both spellings, from the
 * one list in wfguard/core/types.h (WFG_EVENTS): Maybenot's, used in machine
 * strings' messages and printouts, and the policy file's keys.
 */
#ifndef WFGUARD_USER_EVENTS_H
#define WFGUARD_USER_EVENTS_H

#include "wfguard/core/types.h"

/* "NormalRecv", ... (NULL if out of range). */
const char *wfg_event_name(unsigned ev);

/* "normal_recv", ... (NULL if out of range). */
const char *wfg_event_key(unsigned ev);

#endif
