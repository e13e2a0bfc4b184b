/* Shared constants of the test_at_verb sources. */
#ifndef TEST_VERB_INT_H
#define TEST_VERB_INT_H

#define SIG   "kLr9ZQyA+Jx3lQ0b/ZP1V2w5hL8mBcn7xT3Fh2qk1y0=="
#define IV    "EBESExQVFhcYGRobHB0eHw=="
#define UUID  "9d1c6b0e-2c7a-4a8e-9f3b-0e1d2c3b4a59"
#define B64   "c2VjcmV0IGRhdGEgaGVyZQ=="
#define EMOJI "\xf0\x9f\x9b\xa0"

void test_verb_lines(void **state);

#endif
