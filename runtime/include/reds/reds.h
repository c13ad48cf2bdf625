/* SPDX-License-Identifier: MIT. Copyright (c) 2026 the reds authors; see LICENSE. */
/*
 * reds: a Redis client library for C with generated, typed commands.
 * Include this umbrella header, or just <reds/commands.h>.
 */
#ifndef REDS_H
#define REDS_H

#include <reds/version.h>
#include <reds/types.h>
#include <reds/client.h>
#include <reds/cache.h>
#include <reds/hooks.h>
#include <reds/catalog.h>
#include <reds/commands.h>
#include <reds/pipeline.h>
#include <reds/script.h>
#include <reds/scan.h>
#include <reds/lock.h>
#include <reds/pubsub.h>
#include <reds/monitor.h>
#include <reds/url.h>
#include <reds/sentinel.h>
#include <reds/ring.h>
#include <reds/cluster.h>
#include <reds/async.h>

#endif
