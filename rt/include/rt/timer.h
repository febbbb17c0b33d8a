/*
 * rt/timer.h: timers that deliver on channels (Go's time.After, time.NewTimer,
 * time.NewTicker, Timer.Stop and Reset).
 *
 *   go_timer_after(ns)     a timer whose channel receives, once, the clock (go_now())
 *                          at its fire, which is at least ns from now
 *   go_ticker(period)      a timer whose channel receives the clock at every fire; each
 *                          fire is at least `period` after the previous one (the next
 *                          deadline is the fire plus the period, so consecutive values
 *                          are >= period apart and a late interrupt delays later ticks
 *                          instead of bunching them); a tick finds the channel (capacity
 *                          1) full when the reader is slow, and is dropped
 *   go_timer_chan(t)       the timer's channel: uint64_t elements, capacity 1; it is never
 *                          closed (do not close it: fires on a closed one are dropped)
 *   go_timer_stop(t)       disarm: true if that prevented a fire (the timer was pending),
 *                          false if it had fired already or was stopped. A value delivered
 *                          before the stop stays in the channel (chan_try_recv drains it)
 *   go_timer_reset(t, ns)  stop, then arm again for ns from now (a ticker: ns is also the
 *                          new period); returns what the stop returned
 *   go_timer_free(t)       stop, then release the timer and its channel early (optional:
 *                          timers are garbage-collected; nobody may be blocked on the
 *                          channel or use t afterwards)
 *   go_after(ns)           the channel of a new go_timer_after(ns); the timer lives while
 *                          it is armed or its channel is referenced, then the collector
 *                          reclaims it (no need to free anything)
 *   go_after_func(ns, fn, arg)  a timer that runs fn(arg) in a new goroutine at its fire,
 *                          at least ns from now; it has no channel (go_timer_chan: NULL).
 *                          Stop and reset as above: a stop that returns true means fn
 *                          will not run for that arm; each reset arms one more run
 *
 * A select with a timeout is chan_select with the timer's channel as one receive case:
 *
 *   struct go_timer *t = go_timer_after(5000000);
 *   struct select_case cs[2] = { { work, SELECT_RECV, &item, NULL },
 *                                { go_timer_chan(t), SELECT_RECV, NULL, NULL } };
 *   if (chan_select(cs, 2, false) == 1) ... timed out ...
 *   go_timer_free(t);
 *
 * A pending timer counts as a future wake-up for the deadlock check ("all goroutines
 * are asleep"); a stopped or fired one-shot timer does not.
 *
 * Context: goroutines only (creation allocates; stop, reset and free may block briefly
 * on the timer's own mutex). Stop, reset and free may be called from any goroutine on
 * any CPU, concurrently with each other and with the fire. A zero period panics, as
 * Go's "non-positive interval for NewTicker".
 */
#ifndef RT_TIMER_H
#define RT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct chan;
struct go_timer;

struct go_timer *go_timer_after(uint64_t ns);
struct go_timer *go_ticker(uint64_t period);
struct go_timer *go_after_func(uint64_t ns, void (*fn)(void *), void *arg);
struct chan *go_timer_chan(struct go_timer *t);
bool go_timer_stop(struct go_timer *t);
bool go_timer_reset(struct go_timer *t, uint64_t ns);
void go_timer_free(struct go_timer *t);
struct chan *go_after(uint64_t ns);

#endif
