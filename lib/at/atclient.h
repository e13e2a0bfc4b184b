/*
 * lib/at/atclient.h - umbrella header of the atProtocol client: the
 * asynchronous client (client.h), the monitor (monitor.h), the blocking
 * wrapper for tools (client_sync.h), the directory lookup (root.h) and the
 * E2E formats (e2e.h). Include the individual headers when only one part is
 * needed.
 */
#ifndef AT_ATCLIENT_H
#define AT_ATCLIENT_H

#include "at/client.h"
#include "at/client_sync.h"
#include "at/e2e.h"
#include "at/monitor.h"
#include "at/root.h"

#endif
