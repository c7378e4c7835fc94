/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The whole defence core: include this one header. API in flow.h; semantics in docs/core.md. */
#ifndef WFGUARD_CORE_CORE_H
#define WFGUARD_CORE_CORE_H

#include "types.h"
#include "prng.h"
#include "dist.h"
#include "shape.h"
#include "pace.h"
#include "front.h"
#include "machine.h"
#include "flow.h"
#include "wire.h"
#include "defpool.h"

#endif
