/*
 * tests/boot/boehm_test.c: the Boehm-style programs of tests/boehm/ as explicit suites
 * (tests=boehm_tree, boehm_finalize, boehm_links). Each program is built unchanged
 * against gc.h, its main renamed by the build (-Dmain=boehm_<name>_main); the suite runs
 * it as this goroutine, between two marker lines, and expects status 0.
 * tools/boehmprogs.py compares the lines between the markers with what the same
 * program prints when built against Debian's libgc; the boot matrix checks them in
 * the images.
 */
#include <stdio.h>
#include <kernel/console.h>
#include <kernel/test.h>

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
