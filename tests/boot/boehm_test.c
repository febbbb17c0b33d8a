/*
 * tests/boot/boehm_test.c: the Boehm-style programs of tests/boehm/ as explicit suites
 * (tests=boehm_tree, boehm_finalize, boehm_links). Each program is built unchanged
 * against gc.h, its main renamed by the build (-Dmain=boehm_<name>_main); the suite runs
 * it as this goroutine, between two marker lines, and expects status 0; then it says
 * how many collections ran and how many written pages they rescanned (the dirty-page
 * mode, gc.h's).
 * tools/boehmprogs.py compares the lines between the markers with what the same
 * program prints when built against Debian's libgc; the boot matrix checks them in
 * the images.
 *
 * On the hosted platform only, the Boehm benchmark programs (tests/bench/boehm,
 * tools/gcbench.py's gcboehm side) likewise: suites boehmsrc_gcbench and
 * boehmsrc_bintree. They read GC_MARKERS from the environment, which only the hosted
 * platform has.
 */
#include <stdio.h>
#include <kernel/console.h>
#include <kernel/test.h>
#include <rt/gc.h>

int boehm_tree_main(void);
int boehm_finalize_main(void);
int boehm_links_main(void);

static void run(const char *name, int (*prog)(void))
{
	fflush(stdout);
	kprintf("boehm program %s: output begins\n", name);
	int status = prog();
	fflush(stdout);
	kprintf("boehm program %s: output ends, status %d\n", name, status);
	EXPECT_EQ(status, 0);
	struct gc_stats st;
	gc_stats(&st);
	kprintf("boehm program %s: %llu collections, %llu dirty pages rescanned\n", name,
		(unsigned long long)st.cycles, (unsigned long long)st.dirty_pages);
}

TEST_G_EXPLICIT(boehm_tree, tree)
{
	run("tree", boehm_tree_main);
}

TEST_G_EXPLICIT(boehm_finalize, finalize)
{
	run("finalize", boehm_finalize_main);
}

TEST_G_EXPLICIT(boehm_links, links)
{
	run("links", boehm_links_main);
}

#ifdef GORT_HOSTED
int boehm_gcbench_main(void);
int boehm_bintree_main(void);

TEST_G_EXPLICIT(boehmsrc_gcbench, gcbench)
{
	run("gcbench", boehm_gcbench_main);
}

TEST_G_EXPLICIT(boehmsrc_bintree, bintree)
{
	run("bintree", boehm_bintree_main);
}
#endif

/* ---- collection events: a collection is never cut in two by a change of callback ---- */

#include <gc.h>
#include <kernel/clock.h>
#include <rt/gc_test.h>
#include <rt/go.h>

/*
 * (Explicit, tests=gc_h: the first call of gc.h switches the collector to its
 * dirty-page mode for the rest of the boot.)
 * A collection is held after its first pause (the mark-start hook blocks), with the
 * events' callback set: a goroutine that sets it to 0 meanwhile must wait for that
 * collection's end, which then reports its events to the callback it started with
 * (as many GC_EVENT_END as GC_EVENT_START, as many starts of the world as stops); and
 * no event comes after the call returned. (Before, the callback was read at each
 * event: a program that unset it while a collection ran saw a start and no end, and
 * tools/gcbench.py's Boehm-source GCBench failed on it once in a while.)
 */
static _Atomic unsigned ev_start, ev_end, ev_stop, ev_resume;
static _Atomic bool ev_held, ev_release, ev_unset_done;
static struct wait_group ev_wg = WAIT_GROUP_INIT;

static void ev_count(GC_EventType e)
{
	if (e == GC_EVENT_START)
		atomic_fetch_add(&ev_start, 1);
	else if (e == GC_EVENT_END)
		atomic_fetch_add(&ev_end, 1);
	else if (e == GC_EVENT_PRE_STOP_WORLD)
		atomic_fetch_add(&ev_stop, 1);
	else if (e == GC_EVENT_POST_START_WORLD)
		atomic_fetch_add(&ev_resume, 1);
}

static void ev_hold_hook(void)
{
	atomic_store(&ev_held, true);
	while (!atomic_load(&ev_release))
		go_yield();	/* (the collector's goroutine cannot sleep: no timer node) */
}

static void ev_collect(void *arg)
{
	(void)arg;
	GC_gcollect();
	wg_done(&ev_wg);
}

static void ev_unset(void *arg)
{
	(void)arg;
	while (!atomic_load(&ev_held))
		go_yield();
	GC_set_on_collection_event(0);
	atomic_store(&ev_unset_done, true);
	wg_done(&ev_wg);
}

TEST_G_EXPLICIT(gc_h, collection_events_never_cut_by_a_new_callback)
{
	atomic_store(&ev_held, false);
	atomic_store(&ev_release, false);
	atomic_store(&ev_unset_done, false);
	GC_set_on_collection_event(ev_count);
	unsigned s0 = atomic_load(&ev_start), e0 = atomic_load(&ev_end);
	EXPECT_EQ(s0, e0);
	/* Nothing below allocates while the collection is held (go_yield, not go_sleep,
	 * whose timer is a heap object): an allocation then could owe an assist to a
	 * cycle that cannot go on. */
	gc_test_mark_start_hook = ev_hold_hook;
	wg_add(&ev_wg, 2);
	go(ev_collect, NULL);
	go(ev_unset, NULL);		/* waits for the hold, then unsets */
	uint64_t t0 = clock_ns();
	while (!atomic_load(&ev_held) && clock_ns() - t0 < 10000000000ull)
		go_yield();
	gc_test_mark_start_hook = NULL;		/* (the held cycle is past it) */
	EXPECT_TRUE(atomic_load(&ev_held));
	EXPECT_EQ(atomic_load(&ev_start), atomic_load(&ev_end) + 1);	/* a collection under way */
	for (t0 = clock_ns(); clock_ns() - t0 < 20000000;)
		go_yield();		/* the unsetter is in its call by now */
	EXPECT_TRUE(!atomic_load(&ev_unset_done));	/* waits for the collection */
	atomic_store(&ev_release, true);
	wg_wait(&ev_wg);
	EXPECT_TRUE(atomic_load(&ev_unset_done));
	EXPECT_EQ(atomic_load(&ev_start), atomic_load(&ev_end));
	EXPECT_EQ(atomic_load(&ev_stop), atomic_load(&ev_resume));
	EXPECT_TRUE(atomic_load(&ev_end) > e0);
	unsigned s1 = atomic_load(&ev_start);
	GC_gcollect();
	EXPECT_EQ(atomic_load(&ev_start), s1);		/* unset: nothing more */
}

/* ---- misuse of the Boehm-style interface: clear panics (explicit, each ends the boot) ---- */

static void *never(void *arg)
{
	return arg;
}

TEST_G_EXPLICIT(boehm_pthread, refused)
{
	int t;
	GC_pthread_create(&t, NULL, never, NULL);
	test_fail(__FILE__, __LINE__, "GC_pthread_create returned");
}

TEST_G_EXPLICIT(boehm_badlink, object_not_in_heap)
{
	static int not_heap;
	void **link = GC_MALLOC(sizeof(void *));
	GC_general_register_disappearing_link(link, &not_heap);
	test_fail(__FILE__, __LINE__, "the registration returned");
}

TEST_G_EXPLICIT(boehm_enable, more_enables_than_disables)
{
	GC_disable();
	GC_enable();
	GC_enable();
	test_fail(__FILE__, __LINE__, "GC_enable returned");
}
