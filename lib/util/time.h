/*
 * lib/util/time.h - clocks. Monotonic milliseconds for deadlines and timers;
 * wall-clock milliseconds for protocol timestamps (epochMillis), and the two
 * text forms the protocols use.
 */
#ifndef NP_UTIL_TIME_H
#define NP_UTIL_TIME_H
#include <stddef.h>
#include <stdint.h>

/* Milliseconds from an arbitrary fixed point; never goes backwards. */
int64_t np_mono_ms(void);
/* Milliseconds since the Unix epoch (UTC). */
int64_t np_wall_ms(void);
/* Dart DateTime text in UTC, "YYYY-MM-DD HH:MM:SS.mmmZ" (atProtocol metadata).
 * dst must hold 25 bytes. Returns dst. */
char *np_time_dart_utc(char *dst, size_t size, int64_t epoch_ms);
/* Local time ISO-8601 with microseconds, "2024-07-04T06:12:10.792736"
 * (NoPorts nonces). dst must hold 27 bytes. Returns dst. */
char *np_time_iso_local_us(char *dst, size_t size);
/* Has the monotonic deadline (ms) passed? */
int np_deadline_passed(int64_t deadline_ms);

#endif
