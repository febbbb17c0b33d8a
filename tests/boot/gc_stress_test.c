/*
 * tests/boot/gc_stress_test.c: the collector under load on every CPU (tests=gc_stress,
 * explicit: its own lines of the matrix, at 1 to 8 cores), with checkmark on (a lost
 * object is a panic that names it):
 *
 *   barrier_mutators   goroutines (two per CPU) shuffle nodes between heap arrays,
 *                      linked lists and channels with gc_store, continuously, while
 *                      collections run back to back; every node is found exactly once,
 *                      intact, at the end
 *   plain_store_mutators_stw
 *                      the same with plain stores, never gc_store, in the
 *                      stop-the-world mode (gc_set_mode): nothing lost either
 *   plain_store_mutators_dirty
 *                      the same in the dirty-page mode (concurrent marking, the pages
 *                      written meanwhile rescanned at its end): nothing lost, and the
 *                      dirty pages were found (the path was taken)
 *   store_without_gc_store_survives_dirty_mode
 *                      gc_missing_barrier's store (below) in the dirty-page mode: kept
 *   foreign_stack_stores_dirty
 *                      in the dirty-page mode, goroutines park with a box in their
 *                      frame while others store fresh nodes into the boxes with plain
 *                      stores and drop them: the parked stacks are rescanned because
 *                      their pages were written, every box's last node intact
 *   pointers_only_in_parked_stacks
 *                      goroutines (two per CPU) take a node out of the heap, park with
 *                      it only in their frame, and put it back when woken, while
 *                      collections run back to back: every node found once, intact
 *   alloc_every_cpu    goroutines on every CPU allocate objects of every kind and size
 *                      at once; every object intact, no two overlapping, counts exact
 *   messages           producers, relays with select and timer timeouts, a helper
 *                      goroutine per message, consumers: every message is a heap object
 *                      with a heap payload, checksummed end to end, counted and xored
 *
 * And the deliberate missing barrier (tests=gc_missing_barrier, explicit): a pointer
 * stored without gc_store into an object the collector has already scanned, its only
 * other reference dropped: checkmark must panic and name the slot.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/test.h>
#include <rt/chan.h>
#include <rt/gc.h>
#include <rt/gc_test.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/timer.h>

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* A collector goroutine running cycles back to back until told to stop. */
static _Atomic bool collector_stop;
static _Atomic unsigned collector_cycles;
static struct wait_group collector_wg = WAIT_GROUP_INIT;

static void collector(void *arg)
{
	(void)arg;
	while (!atomic_load(&collector_stop)) {
		gc_collect();
		atomic_fetch_add(&collector_cycles, 1);
		go_sleep(200000);
	}
	wg_done(&collector_wg);
}

static void collector_start(void)
{
	atomic_store(&collector_stop, false);
	atomic_store(&collector_cycles, 0);
	wg_add(&collector_wg, 1);
	go(collector, NULL);
}

static unsigned collector_end(void)
{
	atomic_store(&collector_stop, true);
	wg_wait(&collector_wg);
	return atomic_load(&collector_cycles);
}

/* ---- barrier mutators ------------------------------------------------------------------- */

struct bnode {
	struct bnode *next;
	uint64_t id;
	uint64_t check;
	uint64_t pad[3];
};

GC_TYPE(bnode_type, struct bnode, next);

#define BSLOTS 64
#define BNODES_PER_G 400
#define BROUNDS_MIN 20000	/* rounds per mutator, at least ... */
#define BCYCLES_MIN 12		/* ... and until this many collections overlapped them */

struct bstate {
	struct bnode **slots;		/* a heap array of BSLOTS pointers */
	struct bnode *list;		/* a heap-held list: in `holder` */
};

struct holder {
	struct bnode *list;
	struct bnode **slots;
};

GC_TYPE(holder_type, struct holder, list, slots);

static struct {
	struct chan *ring[64];		/* goroutine i sends nodes to i + 1 */
	unsigned n;
	struct holder *holders[64];	/* a global root array (gc_store) */
	struct wait_group done;
	_Atomic unsigned bad;
	bool plain;			/* store without the barrier (the stop-the-world mode) */
} bm = { .done = WAIT_GROUP_INIT };

#define BSTORE(slot, v)                                                                \
	do {                                                                           \
		if (bm.plain)                                                          \
			*(slot) = (v);                                                 \
		else                                                                   \
			gc_store((slot), (v));                                         \
	} while (0)

static uint64_t bcheck(uint64_t id)
{
	return mix(id + 12345);
}

static void bmutator(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	struct holder *h = bm.holders[me];
	uint64_t r = mix(me + 1);
	uint64_t t0 = go_now();
	for (unsigned round = 0; round < BROUNDS_MIN || (atomic_load(&collector_cycles) < BCYCLES_MIN &&
							 go_now() - t0 < 60000000000ull); round++) {
		r = mix(r + round);
		unsigned a = r % BSLOTS, b = (r >> 16) % BSLOTS;
		switch ((r >> 32) % 8) {
		case 0: {	/* swap two slots */
			struct bnode *x = h->slots[a], *y = h->slots[b];
			BSTORE(&h->slots[a], y);
			BSTORE(&h->slots[b], x);
			break;
		}
		case 1: {	/* slot -> front of the list */
			struct bnode *x = h->slots[a];
			if (!x)
				break;
			BSTORE(&h->slots[a], NULL);
			BSTORE(&x->next, h->list);
			BSTORE(&h->list, x);
			break;
		}
		case 2: {	/* list front -> an empty slot */
			struct bnode *x = h->list;
			if (!x || h->slots[b])
				break;
			BSTORE(&h->list, x->next);
			BSTORE(&x->next, NULL);
			BSTORE(&h->slots[b], x);
			break;
		}
		case 3: {	/* send one to the next goroutine, without blocking */
			struct bnode *x = h->slots[a];
			if (!x)
				break;
			BSTORE(&h->slots[a], NULL);
			if (!chan_try_send(bm.ring[(me + 1) % bm.n], &x))
				BSTORE(&h->slots[a], x);	/* full: put it back */
			break;
		}
		case 4: {	/* take one from the previous goroutine into an empty slot */
			struct bnode *x;
			if (h->slots[b])
				break;
			if (chan_try_recv(bm.ring[me], &x, NULL))
				BSTORE(&h->slots[b], x);
			break;
		}
		case 5: case 6: {	/* only in this stack across a switch: out of the heap, yield, back */
			struct bnode *x = h->slots[a];
			if (!x)
				break;
			BSTORE(&h->slots[a], NULL);
			if (r & (1ull << 50))
				go_sleep(20000);
			else
				go_yield();
			if (!h->slots[b])
				BSTORE(&h->slots[b], x);
			else {
				BSTORE(&x->next, h->list);
				BSTORE(&h->list, x);
			}
			break;
		}
		default:	/* garbage, to keep the collector busy and the heap turning */
			memset(gc_alloc(16 + (r >> 40) % 300), 0x3c, 16);
			break;
		}
		if (round % 1000 == 0)
			go_yield();
	}
	wg_done(&bm.done);
}

static void run_bmutators(bool plain)
{
	bm.plain = plain;
	unsigned n = 2 * cpu_count();
	if (n > 64)
		n = 64;
	bm.n = n;
	atomic_store(&bm.bad, 0);
	uint64_t total = (uint64_t)n * BNODES_PER_G;
	for (unsigned i = 0; i < n; i++) {
		struct holder *h = gc_new(&holder_type);
		BSTORE(&h->slots, (struct bnode **)gc_new_array(&gc_type_ptr, BSLOTS));
		for (unsigned k = 0; k < BNODES_PER_G; k++) {
			struct bnode *x = gc_new(&bnode_type);
			x->id = (uint64_t)i * BNODES_PER_G + k;
			x->check = bcheck(x->id);
			if (k < BSLOTS / 2) {
				BSTORE(&h->slots[k], x);
			} else {
				BSTORE(&x->next, h->list);
				BSTORE(&h->list, x);
			}
		}
		BSTORE(&bm.holders[i], h);
		bm.ring[i] = chan_make_typed(&gc_type_ptr, 8);
	}
	collector_start();
	wg_add(&bm.done, n);
	for (unsigned i = 0; i < n; i++)
		go(bmutator, (void *)(uintptr_t)i);
	wg_wait(&bm.done);
	unsigned cycles = collector_end();

	/* every node exactly once: slots, lists, channels */
	uint8_t *seen = gc_alloc_noscan(total);
	uint64_t found = 0, bad = 0;
	for (unsigned i = 0; i < n; i++) {
		struct holder *h = bm.holders[i];
		struct bnode *x;
		for (unsigned k = 0; k < BSLOTS; k++)
			if ((x = h->slots[k])) {
				if (x->id >= total || x->check != bcheck(x->id) || seen[x->id]++)
					bad++;
				found++;
			}
		for (x = h->list; x; x = x->next) {
			if (x->id >= total || x->check != bcheck(x->id) || seen[x->id]++)
				bad++;
			found++;
		}
		while (chan_try_recv(bm.ring[i], &x, NULL)) {
			if (x->id >= total || x->check != bcheck(x->id) || seen[x->id]++)
				bad++;
			found++;
		}
	}
	kprintf("gc_stress: %u mutators, %llu nodes moved through slots, lists and channels, %u collections%s\n",
		n, (unsigned long long)total, cycles, plain ? " (plain stores)" : "");
	EXPECT_EQ(found, total);
	EXPECT_EQ(bad, 0);
	EXPECT_TRUE(cycles >= BCYCLES_MIN);
	for (unsigned i = 0; i < n; i++) {
		BSTORE(&bm.holders[i], NULL);
		bm.ring[i] = NULL;
	}
}

TEST_G_EXPLICIT(gc_stress, barrier_mutators)
{
	run_bmutators(false);
}

/* The same mutators storing with plain assignments, never gc_store, with the collector
 * in the stop-the-world mode (gc.h's): nothing may be lost, and checkmark agrees. */
TEST_G_EXPLICIT(gc_stress, plain_store_mutators_stw)
{
	int old = gc_set_mode(GC_MODE_STW);
	run_bmutators(true);
	EXPECT_EQ(gc_set_mode(old), GC_MODE_STW);
}

/* The same in the dirty-page mode: marking runs concurrently with the plain stores. */
TEST_G_EXPLICIT(gc_stress, plain_store_mutators_dirty)
{
	int old = gc_set_mode(GC_MODE_DIRTY);
	struct gc_stats s0, s1;
	gc_stats(&s0);
	run_bmutators(true);
	gc_stats(&s1);
	EXPECT_EQ(gc_set_mode(old), GC_MODE_DIRTY);
	kprintf("gc_stress: dirty mode: %llu dirty pages rescanned in %llu cycles\n",
		(unsigned long long)(s1.dirty_pages - s0.dirty_pages), (unsigned long long)(s1.cycles - s0.cycles));
	/* with one CPU a cycle's marking may never give the mutators a turn: nothing
	 * written (store_without_gc_store_survives_dirty_mode writes deterministically) */
	EXPECT_TRUE(cpu_count() == 1 || s1.dirty_pages > s0.dirty_pages);
}

/* ---- stores into parked goroutines' frames (the dirty-page mode) --------------------------------- */

#define FBOXES 4		/* boxes (parked goroutines) per writer */
#define FPOOL 256		/* nodes in each writer's heap pool */
#define FROUNDS 3000		/* swaps per box, at least ... */

struct fbox {
	struct bnode *node;		/* swapped by the writer, plain */
};

static struct {
	struct fbox *_Atomic box[64][FBOXES];	/* writer i's boxes: pointers into frames */
	struct bnode **pool[64];		/* writer i's nodes: a heap array from a global */
	struct chan *wake[64][FBOXES];
	_Atomic unsigned ready, bad, found;
	unsigned n;
	struct wait_group done;
} fs = { .done = WAIT_GROUP_INIT };

static bool fs_node_ok(const struct bnode *x)
{
	return x && x->check == bcheck(x->id) && x->next == NULL;
}

static void fs_parker(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg / FBOXES, k = (unsigned)(uintptr_t)arg % FBOXES;
	struct fbox box = { 0 };
	atomic_store(&fs.box[i][k], &box);
	atomic_fetch_add(&fs.ready, 1);
	int v;
	chan_recv(fs.wake[i][k], &v);	/* parked: only the writer touches the box meanwhile */
	if (!fs_node_ok(box.node))
		atomic_fetch_add(&fs.bad, 1);
	atomic_fetch_add(&fs.found, 1);
	wg_done(&fs.done);
}

/*
 * Nodes allocated before the collections (white when each cycle begins) move between
 * the writer's heap pool and the boxes in parked frames, all with plain stores: a
 * node moved into a box whose frame was scanned already, its pool slot cleared, is
 * reachable only from that frame, which did not run; only its written page says so.
 */
static void fs_writer(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	struct bnode **pool = fs.pool[i];
	uint64_t rng = i + 1;
	for (unsigned k = 0; k < FBOXES; k++) {
		struct fbox *b = atomic_load(&fs.box[i][k]);
		b->node = pool[k];
		pool[k] = NULL;
	}
	for (unsigned r = 0; r < FROUNDS || atomic_load(&collector_cycles) < BCYCLES_MIN; r++) {
		for (unsigned k = 0; k < FBOXES; k++) {
			struct fbox *b = atomic_load(&fs.box[i][k]);
			rng = mix(rng);
			unsigned j = (unsigned)(rng % FPOOL);
			struct bnode *x = pool[j];
			pool[j] = b->node;	/* (plain stores, both) */
			b->node = x;
			if (!x) {
				b->node = pool[j];	/* an empty slot: swap back */
				pool[j] = NULL;
			}
		}
		if (r % 64 == 0)
			go_yield();
	}
	for (unsigned k = 0; k < FBOXES; k++) {
		int v = 1;
		chan_send(fs.wake[i][k], &v);
	}
	wg_done(&fs.done);
}

/* Each cycle, before its end of marking, the collector's goroutine lets the writers
 * run: on one CPU a short mark otherwise never yields to them, and no write would
 * land while it marks. */
static void fs_mark_done(void)
{
	for (int k = 0; k < 4; k++)
		go_yield();
}

TEST_G_EXPLICIT(gc_stress, foreign_stack_stores_dirty)
{
	int old = gc_set_mode(GC_MODE_DIRTY);
	unsigned n = cpu_count();
	if (n > 64)
		n = 64;
	fs.n = n;
	atomic_store(&fs.ready, 0);
	atomic_store(&fs.bad, 0);
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < FBOXES; k++)
			fs.wake[i][k] = chan_make(sizeof(int), 0);
	atomic_store(&fs.found, 0);
	for (unsigned i = 0; i < n; i++) {
		fs.pool[i] = gc_new_array(&gc_type_ptr, FPOOL);
		for (unsigned j = 0; j < FPOOL; j++) {
			struct bnode *x = gc_new(&bnode_type);
			x->id = (uint64_t)i << 32 | j;
			x->check = bcheck(x->id);
			fs.pool[i][j] = x;
		}
	}
	wg_add(&fs.done, n * FBOXES);
	for (unsigned j = 0; j < n * FBOXES; j++)
		go(fs_parker, (void *)(uintptr_t)j);
	while (atomic_load(&fs.ready) < n * FBOXES)
		go_sleep(100000);
	uint32_t first = gc_test_cycle() + 1;
	gc_test_mark_done_hook = fs_mark_done;
	collector_start();
	wg_add(&fs.done, n);
	for (unsigned i = 0; i < n; i++)
		go(fs_writer, (void *)(uintptr_t)i);
	wg_wait(&fs.done);
	unsigned cycles = collector_end();
	gc_test_mark_done_hook = NULL;
	uint64_t dstacks = 0;
	for (uint32_t c = first; c <= gc_test_cycle(); c++) {
		struct gc_cycle_info ci;
		if (gc_test_cycle_info(c, &ci))
			dstacks += ci.dirty_stacks;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < FPOOL; j++)
			if (fs.pool[i][j]) {
				if (!fs_node_ok(fs.pool[i][j]))
					atomic_fetch_add(&fs.bad, 1);
				atomic_fetch_add(&fs.found, 1);
			}
	kprintf("gc_stress: %u writers into %u parked frames, %u collections, %llu stacks rescanned for written pages\n",
		n, n * FBOXES, cycles, (unsigned long long)dstacks);
	EXPECT_EQ(atomic_load(&fs.bad), 0);
	EXPECT_EQ(atomic_load(&fs.found), n * FPOOL);
	EXPECT_TRUE(cycles >= BCYCLES_MIN);
	EXPECT_TRUE(dstacks > 0);
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < FBOXES; k++) {
			fs.box[i][k] = NULL;
			fs.wake[i][k] = NULL;
		}
	for (unsigned i = 0; i < n; i++)
		fs.pool[i] = NULL;
	EXPECT_EQ(gc_set_mode(old), GC_MODE_DIRTY);
}

/* ---- pointers held only by parked stacks --------------------------------------------------- */

/*
 * The case the end of marking's rescans exist for: a goroutine whose stack was scanned
 * takes a pointer out of a heap object the collector has not scanned yet, and parks
 * with the pointer only in its frame. Each mutator's container sits at the end of a
 * chain of CHAIN nodes from a global, so the markers reach it late while the stacks
 * are scanned early; the mutators park on a channel between taking and putting back.
 */
#define CHAIN 3000
#define PSLOTS 16

struct pcont {
	struct pcont *next;		/* the chain; the last one is the container */
	struct bnode *slots[PSLOTS];
};

GC_TYPE(pcont_type, struct pcont, next, slots);

static struct {
	struct pcont *chains[64];	/* global roots */
	struct chan *wake[64];
	unsigned n;
	_Atomic bool stop;
	_Atomic unsigned parks;
	struct wait_group done;
} ps = { .done = WAIT_GROUP_INIT };

static struct pcont *pcont_of(unsigned i)
{
	struct pcont *c = ps.chains[i];
	while (c->next)
		c = c->next;
	return c;
}

static void ps_mutator(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	struct pcont *c = pcont_of(me);
	uint64_t r = mix(me + 99);
	while (!atomic_load(&ps.stop)) {
		r = mix(r);
		unsigned a = r % PSLOTS;
		struct bnode *x = c->slots[a];
		gc_store(&c->slots[a], NULL);
		int token;
		chan_recv(ps.wake[me], &token);		/* parked, x only in this frame */
		atomic_fetch_add(&ps.parks, 1);
		gc_store(&c->slots[a], x);
	}
	wg_done(&ps.done);
}

static void ps_waker(void *arg)
{
	(void)arg;
	while (!atomic_load(&ps.stop)) {
		for (unsigned i = 0; i < ps.n; i++) {
			int t = 0;
			chan_try_send(ps.wake[i], &t);
		}
		go_sleep(30000);
	}
	for (unsigned i = 0; i < ps.n; i++)
		chan_close(ps.wake[i]);
	wg_done(&ps.done);
}

TEST_G_EXPLICIT(gc_stress, pointers_only_in_parked_stacks)
{
	unsigned n = 2 * cpu_count();
	if (n > 32)
		n = 32;
	ps.n = n;
	atomic_store(&ps.stop, false);
	atomic_store(&ps.parks, 0);
	uint64_t total = (uint64_t)n * PSLOTS;
	for (unsigned i = 0; i < n; i++) {
		struct pcont *head = NULL;
		for (unsigned k = 0; k < CHAIN; k++) {
			struct pcont *c = gc_new(&pcont_type);
			gc_store(&c->next, head);
			head = c;
		}
		/* the nodes go into the chain's last element: the container */
		struct pcont *last = head;
		while (last->next)
			last = last->next;
		for (unsigned k = 0; k < PSLOTS; k++) {
			struct bnode *x = gc_new(&bnode_type);
			x->id = (uint64_t)i * PSLOTS + k;
			x->check = bcheck(x->id);
			gc_store(&last->slots[k], x);
		}
		gc_store(&ps.chains[i], head);
		ps.wake[i] = chan_make(sizeof(int), 1);
	}
	collector_start();
	wg_add(&ps.done, n + 1);
	for (unsigned i = 0; i < n; i++)
		go(ps_mutator, (void *)(uintptr_t)i);
	go(ps_waker, NULL);
	uint64_t t0 = go_now();
	while (atomic_load(&collector_cycles) < 40 && go_now() - t0 < 60000000000ull)
		go_sleep(2000000);
	atomic_store(&ps.stop, true);
	wg_wait(&ps.done);
	unsigned cycles = collector_end();
	uint8_t *seen = gc_alloc_noscan(total);
	uint64_t found = 0, bad = 0;
	for (unsigned i = 0; i < n; i++) {
		struct pcont *c = pcont_of(i);
		for (unsigned k = 0; k < PSLOTS; k++) {
			struct bnode *x = c->slots[k];
			if (!x)
				continue;
			if (x->id >= total || x->check != bcheck(x->id) || seen[x->id]++)
				bad++;
			found++;
		}
	}
	kprintf("gc_stress: %u goroutines parked %u times holding the only pointer, %u collections\n",
		n, atomic_load(&ps.parks), cycles);
	EXPECT_EQ(found, total);
	EXPECT_EQ(bad, 0);
	for (unsigned i = 0; i < n; i++) {
		gc_store(&ps.chains[i], NULL);
		ps.wake[i] = NULL;
	}
}

/* ---- allocation on every CPU, exact accounting --------------------------------------------- */

#define AE_TOTAL 12000	/* objects, split among the goroutines: about 30 MiB in all */

struct aobj {
	uintptr_t addr;
	uint32_t size;
	uint32_t kind;
};

static struct {
	struct wait_group done;
	void **keep[64];		/* per goroutine: a typed array of its objects */
	_Atomic unsigned bad;
} ae = { .done = WAIT_GROUP_INIT };

static unsigned ae_per_g;

static size_t ae_size(uint64_t r)
{
	switch (r % 32) {
	case 0: return 33000 + r % 60000;	/* large */
	case 1: case 2: case 3: return 1024 + r % 8000;
	default: return 8 + r % 500;
	}
}

static void ae_fill(unsigned char *p, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = mix(key + i);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* n if the object holds what ae_fill wrote, else the offset of the first word that
 * differs */
static size_t ae_check(const unsigned char *p, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = mix(key + i);
		if (memcmp(p + i, &v, n - i < 8 ? n - i : 8))
			return i;
	}
	return n;
}

static bool ae_ok(const unsigned char *p, size_t n, uint64_t key)
{
	return ae_check(p, n, key) == n;
}

static void ae_worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	void **keep = ae.keep[me];
	for (unsigned k = 0; k < ae_per_g; k++) {
		uint64_t key = ((uint64_t)me << 32) | k;
		uint64_t r = mix(key);
		size_t n = ae_size(r);
		unsigned char *p = (r >> 8) % 2 ? gc_alloc(n) : gc_alloc_noscan(n);
		ae_fill(p, n, key);
		gc_store(&keep[k], p);
		if (k % 3 == 0)
			memset(gc_alloc(64), 0, 64);	/* garbage between */
	}
	for (unsigned k = 0; k < ae_per_g; k++) {
		uint64_t key = ((uint64_t)me << 32) | k;
		size_t n = ae_size(mix(key)), at = ae_check(keep[k], n, key);
		if (at != n && atomic_fetch_add(&ae.bad, 1) < 3) {
			/* how much differs, and how: zeros (memory replaced) or another object's
			 * words (reused while still reachable) */
			size_t last = at, zeros = 0;
			for (size_t i = at; i < n; i += 8) {
				uint64_t v = mix(key + i), got = 0;
				memcpy(&got, (unsigned char *)keep[k] + i, n - i < 8 ? n - i : 8);
				if (memcmp(&got, &v, n - i < 8 ? n - i : 8)) {
					last = i;
					zeros += got == 0;
				}
			}
			uint64_t got = 0;
			memcpy(&got, (unsigned char *)keep[k] + at, n - at < 8 ? n - at : 8);
			kprintf("gc_stress: g%u's object %u at %p (%zu bytes) is not what it wrote: "
				"bytes %zu..%zu differ (%zu zero words), the first holds 0x%llx, want 0x%llx\n",
				me, k, keep[k], n, at, last + 8 > n ? n : last + 8, zeros,
				(unsigned long long)got, (unsigned long long)mix(key + at));
		}
	}
	wg_done(&ae.done);
}

static int aobj_cmp(const void *a, const void *b)
{
	const struct aobj *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

TEST_G_EXPLICIT(gc_stress, alloc_every_cpu_exact)
{
	unsigned n = 2 * cpu_count();
	if (n > 64)
		n = 64;
	atomic_store(&ae.bad, 0);
	ae_per_g = AE_TOTAL / n;
	for (unsigned i = 0; i < n; i++)
		ae.keep[i] = gc_new_array(&gc_type_ptr, ae_per_g);
	collector_start();
	wg_add(&ae.done, n);
	for (unsigned i = 0; i < n; i++)
		go(ae_worker, (void *)(uintptr_t)i);
	wg_wait(&ae.done);
	unsigned cycles = collector_end();
	EXPECT_EQ(atomic_load(&ae.bad), 0);
	/* after more collections, still intact; and no two objects overlap */
	gc_collect();
	size_t total = (size_t)n * ae_per_g;
	struct aobj *all = gc_alloc_noscan(total * sizeof(*all));
	size_t m = 0, bad = 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < ae_per_g; k++) {
			uint64_t key = ((uint64_t)i << 32) | k;
			size_t sz = ae_size(mix(key));
			if (!ae_ok(ae.keep[i][k], sz, key))
				bad++;
			all[m++] = (struct aobj){ (uintptr_t)ae.keep[i][k], (uint32_t)sz, (uint32_t)(i * 100000 + k) };
		}
	qsort(all, m, sizeof(*all), aobj_cmp);
	size_t overlaps = 0;
	for (size_t i = 1; i < m; i++)
		if (all[i - 1].addr + all[i - 1].size > all[i].addr) {
			if (!overlaps++)
				kprintf("gc_stress: objects 0x%lx (+%u, size %zu) and 0x%lx (+%u, size %zu) overlap\n",
					(unsigned long)all[i - 1].addr, all[i - 1].size, gc_size((void *)all[i - 1].addr),
					(unsigned long)all[i].addr, all[i].size, gc_size((void *)all[i].addr));
		}
	kprintf("gc_stress: %u goroutines allocated %zu objects at once, %u collections\n", n, m, cycles);
	EXPECT_EQ(m, total);
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(overlaps, 0);
	for (unsigned i = 0; i < n; i++)
		ae.keep[i] = NULL;
}

/* ---- messages through channels, select, timers and helper goroutines ----------------------- */

struct payload {
	uint64_t words[8];
};

struct msg {
	struct payload *payload;
	uint64_t id;
	uint64_t sum;
};

GC_TYPE(msg_type, struct msg, payload);
GC_TYPE_NOPTR(payload_type, struct payload);

#define MS_PRODUCERS_PER_CPU 1
#define MS_PER_PRODUCER 3000

static struct {
	struct chan *to_relay, *to_sink;
	struct wait_group producers, relays, sinks;
	_Atomic uint64_t received, xor_ids, bad, timeouts, helpers;
} ms = { .producers = WAIT_GROUP_INIT, .relays = WAIT_GROUP_INIT, .sinks = WAIT_GROUP_INIT };

static uint64_t msg_sum(const struct msg *m)
{
	uint64_t s = mix(m->id);
	for (unsigned i = 0; i < 8; i++)
		s ^= mix(m->payload->words[i] + i);
	return s;
}

static void producer(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * MS_PER_PRODUCER;
	for (uint64_t k = 0; k < MS_PER_PRODUCER; k++) {
		struct msg *m = gc_new(&msg_type);
		m->id = base + k + 1;
		struct payload *p = gc_new(&payload_type);
		for (unsigned i = 0; i < 8; i++)
			p->words[i] = mix(m->id * 8 + i);
		gc_store(&m->payload, p);
		m->sum = msg_sum(m);
		chan_send(ms.to_relay, &m);
	}
	wg_done(&ms.producers);
}

static void helper(void *arg)
{
	/* a goroutine per message: carries it to the sink */
	struct msg *m = arg;
	atomic_fetch_add(&ms.helpers, 1);
	chan_send(ms.to_sink, &m);
}

static void relay(void *arg)
{
	(void)arg;
	struct go_timer *t = go_timer_after(2000000);
	for (;;) {
		struct msg *m = NULL;
		bool ok = true;
		struct select_case cs[2] = {
			{ ms.to_relay, SELECT_RECV, &m, &ok },
			{ go_timer_chan(t), SELECT_RECV, NULL, NULL },
		};
		int i = chan_select(cs, 2, false);
		if (i == 1) {
			atomic_fetch_add(&ms.timeouts, 1);
			go_timer_reset(t, 2000000);
			continue;
		}
		if (!ok)
			break;
		if (m->id % 4 == 0)
			go(helper, m);
		else
			chan_send(ms.to_sink, &m);
		m = NULL;
	}
	go_timer_stop(t);
	wg_done(&ms.relays);
}

static void sink(void *arg)
{
	(void)arg;
	struct msg *m;
	while (chan_recv(ms.to_sink, &m)) {
		if (m->sum != msg_sum(m))
			atomic_fetch_add(&ms.bad, 1);
		atomic_fetch_add(&ms.received, 1);
		atomic_fetch_xor(&ms.xor_ids, m->id);
	}
	wg_done(&ms.sinks);
}

TEST_G_EXPLICIT(gc_stress, messages)
{
	unsigned np = MS_PRODUCERS_PER_CPU * cpu_count(), nr = cpu_count(), ns = cpu_count();
	ms.to_relay = chan_make_typed(&gc_type_ptr, 16);
	ms.to_sink = chan_make_typed(&gc_type_ptr, 0);
	atomic_store(&ms.received, 0);
	atomic_store(&ms.xor_ids, 0);
	atomic_store(&ms.bad, 0);
	atomic_store(&ms.timeouts, 0);
	atomic_store(&ms.helpers, 0);
	collector_start();
	wg_add(&ms.sinks, ns);
	wg_add(&ms.relays, nr);
	wg_add(&ms.producers, np);
	for (unsigned i = 0; i < ns; i++)
		go(sink, NULL);
	for (unsigned i = 0; i < nr; i++)
		go(relay, NULL);
	for (unsigned i = 0; i < np; i++)
		go(producer, (void *)(uintptr_t)i);
	wg_wait(&ms.producers);
	chan_close(ms.to_relay);
	wg_wait(&ms.relays);
	/* helpers still carrying: wait until everything arrived, then close */
	uint64_t total = (uint64_t)np * MS_PER_PRODUCER, want_xor = 0;
	for (uint64_t id = 1; id <= total; id++)
		want_xor ^= id;
	uint64_t t0 = go_now();
	while (atomic_load(&ms.received) < total && go_now() - t0 < 60000000000ull)
		go_sleep(1000000);
	chan_close(ms.to_sink);
	wg_wait(&ms.sinks);
	unsigned cycles = collector_end();
	kprintf("gc_stress: %llu messages on %u cpus (%llu by helper goroutines, %llu relay timeouts), "
		"%u collections, %llu lost\n", (unsigned long long)total, cpu_count(),
		(unsigned long long)atomic_load(&ms.helpers), (unsigned long long)atomic_load(&ms.timeouts),
		cycles, (unsigned long long)(total - atomic_load(&ms.received)));
	EXPECT_EQ(atomic_load(&ms.received), total);
	EXPECT_EQ(atomic_load(&ms.xor_ids), want_xor);
	EXPECT_EQ(atomic_load(&ms.bad), 0);
	ms.to_relay = ms.to_sink = NULL;
}

/* ---- the deliberate missing barrier ------------------------------------------------------------------ */

struct mb {
	struct mb *ptr;
	uint64_t tag;
};

GC_TYPE(mb_type, struct mb, ptr);

static struct {
	struct mb *holder;		/* a global: A, black by the end of marking */
	uintptr_t hidden;		/* B, disguised: its only other reference */
} mbs;

static void store_without_barrier(void)
{
	/* every reachable object is black now: B (allocated before the cycle, reachable
	 * from nowhere the collector can see) is white; the store skips gc_store */
	mbs.holder->ptr = (struct mb *)(mbs.hidden ^ 0x5555555555555555ull);
	gc_test_mark_done_hook = NULL;
}

/* B, made in a frame of its own that is gone (below the stack pointer) before the cycle:
 * no stale copy of its address stays where the collector looks. */
static __attribute__((noinline)) uintptr_t make_hidden(void)
{
	struct mb *b = gc_new(&mb_type);
	b->tag = 2;
	return (uintptr_t)b ^ 0x5555555555555555ull;
}

TEST_G_EXPLICIT(gc_missing_barrier, store_without_gc_store_is_caught)
{
	struct mb *a = gc_new(&mb_type);
	a->tag = 1;
	gc_store(&mbs.holder, a);
	mbs.hidden = make_hidden();
	kprintf("gc_missing_barrier: holder %p\n", (void *)a);
	gc_test_mark_done_hook = store_without_barrier;
	gc_collect();
	/* checkmark panics before this: B is reachable from A and not marked */
	EXPECT_TRUE(!"checkmark did not catch the missing barrier");
}

/*
 * The same store in the dirty-page mode (in the stress suite, so on every line): the
 * page the store wrote is rescanned at the end of marking, so B survives, on one CPU
 * as on many, and the cycle counts the page.
 */
TEST_G_EXPLICIT(gc_stress, store_without_gc_store_survives_dirty_mode)
{
	int old = gc_set_mode(GC_MODE_DIRTY);
	struct mb *a = gc_new(&mb_type);
	a->tag = 1;
	mbs.holder = a;
	mbs.hidden = make_hidden();
	gc_test_mark_done_hook = store_without_barrier;
	gc_collect();
	uint32_t cyc = gc_test_cycle();
	EXPECT_TRUE(gc_test_mark_done_hook == NULL);	/* the store happened in that cycle */
	struct gc_cycle_info ci;
	EXPECT_TRUE(gc_test_cycle_info(cyc, &ci));
	EXPECT_TRUE(ci.dirty_pages >= 1);
	gc_collect();	/* (checkmark on: a lost B panics in either) */
	EXPECT_TRUE(mbs.holder->ptr != NULL);
	EXPECT_EQ(mbs.holder->ptr->tag, 2);
	kprintf("gc_stress: a store without gc_store after marking: %llu dirty pages rescanned, object kept\n",
		(unsigned long long)ci.dirty_pages);
	mbs.holder = NULL;
	EXPECT_EQ(gc_set_mode(old), GC_MODE_DIRTY);
}

/*
 * The barrier at the very end of marking: a gc_store made after the concurrent mark
 * found no more work, just before the pause. B is white then (allocated before the
 * cycle, reachable from nowhere the collector looks), A black: the store must have B
 * grey by the end of marking, however the barrier defers its shading (tried: a
 * per-CPU buffer shaded at the pause; a missing flush there made checkmark panic
 * here, naming B and A's slot).
 */
static struct {
	struct mb *holder;
	uintptr_t hidden;
} wbs;

static void store_with_barrier(void)
{
	gc_store(&wbs.holder->ptr, (struct mb *)(wbs.hidden ^ 0x5555555555555555ull));
	wbs.hidden = 0;
	gc_test_mark_done_hook = NULL;
}

TEST_G_EXPLICIT(gc_stress, barrier_store_as_marking_ends_keeps_its_object)
{
	struct mb *a = gc_new(&mb_type);
	a->tag = 1;
	gc_store(&wbs.holder, a);
	wbs.hidden = make_hidden();
	gc_test_mark_done_hook = store_with_barrier;
	gc_collect();
	EXPECT_TRUE(gc_test_mark_done_hook == NULL);	/* the store happened in that cycle */
	EXPECT_TRUE(wbs.holder->ptr != NULL);
	gc_collect();	/* (checkmark on: a lost B panics in either) */
	EXPECT_EQ(wbs.holder->ptr->tag, 2);
	gc_store(&wbs.holder, NULL);
}
