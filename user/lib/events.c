// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stddef.h>

#include "events.h"

#define MB_NAME(e, mb, key)  [WFG_EV_##e] = #mb,
#define KEY_NAME(e, mb, key) [WFG_EV_##e] = #key,

static const char *const mb_names[WFG_EV_COUNT] = { WFG_EVENTS(MB_NAME) };
static const char *const key_names[WFG_EV_COUNT] = { WFG_EVENTS(KEY_NAME) };

const char *wfg_event_name(unsigned ev)
{
	return ev < WFG_EV_COUNT ? mb_names[ev] : NULL;
}

const char *wfg_event_key(unsigned ev)
{
	return ev < WFG_EV_COUNT ? key_names[ev] : NULL;
}
