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

/* ---- misuse of the Boehm-style interface: clear panics (explicit, each ends the boot) ---- */

#include <gc.h>

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
