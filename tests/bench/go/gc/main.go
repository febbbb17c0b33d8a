// tests/bench/go/gc/main.go: the Go side of the garbage-collector benchmarks.
//
// The same programs as the collector's in-image suites gcb_* (same sizes, same
// shapes), printed as "BENCH go_<figure>_p<GOMAXPROCS> <value> <unit>"; tools/gcbench.py
// runs this side by side with the C runtime, the Boehm collector
// (tests/bench/boehm) and plain malloc (tests/bench/malloc), one process per group.
//
//	go_gc [-procs N] [group ...]     (no group: all, in the order below)
//
// The groups and their figures:
//
//	gcbench  GCBench (Ellis, Kovac, Boehm), unchanged: a stretch tree of depth 18
//	         dropped at once, a long-lived tree of depth 16 and a long-lived array of
//	         500,000 doubles (pointer-free), then for depths 4, 6, ..., 16: NumIters(d)
//	         trees built top down (Populate) and NumIters(d) bottom up (MakeTree), each
//	         dropped at once, where NumIters(d) = 2 * TreeSize(18) / TreeSize(d) and
//	         TreeSize(d) = 2^(d+1) - 1. A node is two pointers and two int32s (24 bytes,
//	         as the C node). gcbench_ms: the whole run; gcbench_pause_max_us and
//	         gcbench_pause_p99_us: the largest and the 99th-percentile (nearest rank)
//	         stop-the-world pause of the cycles that ran during it; gcbench_gcs: how many.
//	bintree  binary-trees of the Computer Language Benchmarks Game at depth 18, the
//	         single-threaded form (one goroutine builds every tree): its standard
//	         output lines, then bintree_ms (the whole run).
//	parked   what a GC cycle costs per parked goroutine (Go issue 6482; the benchmarks
//	         BenchmarkGoroutineBlocking / Select / Idle of the runtime's tests): the ns
//	         one runtime.GC() takes (the median of gcRounds calls) with N = 1000 and
//	         10000 extra goroutines parked, and with none (parked_empty_ns). recv: each
//	         goroutine loops on a receive from its own channel of one slot; select: the
//	         same receive in a select with a shared quit channel; as in Go's benchHelper,
//	         every goroutine is woken once (a send on its channel) before each timed GC,
//	         so that its stack has run since the last cycle, and only the GC is timed.
//	         Here the main goroutine also waits until every one has taken its value
//	         before the 10 ms sleep that Go's benchmark relies on alone. idle: every
//	         goroutine blocks on one channel nobody sends to, never woken; the GCs run
//	         back to back. Before the first figure, 10,000 goroutines are started and
//	         have exited, so that every figure (the empty one too) runs with the same
//	         dead goroutines kept for reuse. The per-goroutine cost,
//	         (parked_<kind>10000 - parked_empty) / 10000, is derived by the driver.
//	stwload  stop-the-world pauses under load: 10,000 goroutines parked on a receive
//	         from one channel, a long-lived tree of depth 16, then GOMAXPROCS goroutines
//	         build and drop loadTrees bottom-up trees of depth loadDepth between them (an
//	         equal share each); stwload_pause_max_us and stwload_pause_p99_us over the
//	         cycles that ran during the load.
//
// Pauses: Go records one pause per cycle, the sum of its two stop-the-world phases
// (sweep termination and mark termination), in a ring of the last 256 (MemStats.PauseNs,
// debug.GCStats.Pause). A pauseLog reads the ring often enough (every ~1.5 MB allocated
// by the mutator, with debug.ReadGCStats, which does not stop the world) that no cycle
// is lost, and fails if one was.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

const (
	// GCBench
	stretchDepth   = 18
	longLivedDepth = 16
	arraySize      = 500000
	minDepth       = 4
	maxDepth       = 16
	// binary-trees
	bintreeDepth = 18
	// parked
	gcRounds = 21
	nWarm    = 10000
	// stwload
	nLoadParked = 10000
	loadTrees   = 32768
	loadDepth   = 10
	// A pauseLog is read after about this many nodes are allocated (1.5 MiB).
	pollNodes = 65536
)

var procs int

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go_gc: "+format+"\n", args...)
	os.Exit(1)
}

func bench(figure string, value float64, unit string) {
	prec := 1
	if unit == "count" {
		prec = 0
	}
	fmt.Printf("BENCH go_%s_p%d %.*f %s\n", figure, procs, prec, value, unit)
}

// ---- pauses -------------------------------------------------------------------------

// pauseLog collects the pause of every GC cycle that ends after it is made.
type pauseLog struct {
	mu     sync.Mutex      // guards the fields below; workers poll concurrently
	numGC  int64           // cycles already copied into pauses
	pauses []time.Duration // one per cycle, oldest first
	stats  debug.GCStats   // reused by every poll
}

func newPauseLog() *pauseLog {
	l := &pauseLog{pauses: make([]time.Duration, 0, 4096)}
	debug.ReadGCStats(&l.stats)
	l.numGC = l.stats.NumGC
	return l
}

// poll copies the pauses of the cycles ended since the last poll; it fails if the
// runtime's ring no longer holds all of them.
func (l *pauseLog) poll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	debug.ReadGCStats(&l.stats)
	n := l.stats.NumGC - l.numGC
	if n > int64(len(l.stats.Pause)) {
		fail("lost %d GC pauses (the ring holds %d): poll more often", n-int64(len(l.stats.Pause)),
			len(l.stats.Pause))
	}
	for i := n - 1; i >= 0; i-- { // stats.Pause is most recent first
		l.pauses = append(l.pauses, l.stats.Pause[i])
	}
	l.numGC = l.stats.NumGC
}

// report prints the largest and the 99th-percentile pause (nearest rank) in µs.
func (l *pauseLog) report(prefix string) {
	p := append([]time.Duration(nil), l.pauses...)
	if len(p) == 0 {
		fail("%s: no GC cycle ran", prefix)
	}
	sort.Slice(p, func(i, j int) bool { return p[i] < p[j] })
	rank := (99*len(p) + 99) / 100 // ceil(0.99 n)
	bench(prefix+"_pause_max_us", float64(p[len(p)-1].Nanoseconds())/1e3, "us")
	bench(prefix+"_pause_p99_us", float64(p[rank-1].Nanoseconds())/1e3, "us")
}

// ---- GCBench ------------------------------------------------------------------------

type node struct {
	left, right *node
	i, j        int32
}

// newNode allocates one node on the heap (not inlined: a node that escape analysis
// could keep on the stack would not be the benchmark's heap allocation).
//
//go:noinline
func newNode() *node { return &node{} }

func treeSize(i int) int { return (1 << (i + 1)) - 1 }

func numIters(i int) int { return 2 * treeSize(stretchDepth) / treeSize(i) }

// populate builds a tree top down, storing new nodes into older ones.
func populate(depth int, n *node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = &node{}
	n.right = &node{}
	populate(depth, n.left)
	populate(depth, n.right)
}

// makeTree builds a tree bottom up.
func makeTree(depth int) *node {
	if depth <= 0 {
		return &node{}
	}
	return &node{left: makeTree(depth - 1), right: makeTree(depth - 1)}
}

func msSince(t0 time.Time) int64 { return time.Since(t0).Milliseconds() }

func timeConstruction(depth int, log *pauseLog) {
	iters := numIters(depth)
	every := pollNodes / treeSize(depth)
	if every < 1 {
		every = 1
	}
	fmt.Printf("Creating %d trees of depth %d\n", iters, depth)
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		t := newNode()
		populate(depth, t)
		if i%every == 0 {
			log.poll()
		}
	}
	fmt.Printf("\tTop down construction took %d msec\n", msSince(t0))
	t0 = time.Now()
	for i := 0; i < iters; i++ {
		makeTree(depth)
		if i%every == 0 {
			log.poll()
		}
	}
	fmt.Printf("\tBottom up construction took %d msec\n", msSince(t0))
}

func gcbench() {
	log := newPauseLog()
	t0 := time.Now()
	fmt.Printf(" Stretching memory with a binary tree of depth %d\n", stretchDepth)
	makeTree(stretchDepth)
	log.poll()

	fmt.Printf(" Creating a long-lived binary tree of depth %d\n", longLivedDepth)
	longLived := newNode()
	populate(longLivedDepth, longLived)
	log.poll()

	fmt.Printf(" Creating a long-lived array of %d doubles\n", arraySize)
	array := make([]float64, arraySize)
	for i := 0; i < arraySize/2; i++ {
		array[i] = 1.0 / float64(i)
	}

	for d := minDepth; d <= maxDepth; d += 2 {
		timeConstruction(d, log)
	}
	if longLived.left.right == nil || array[1000] != 1.0/1000 {
		fail("gcbench: the long-lived tree or array was lost")
	}
	ms := float64(time.Since(t0).Nanoseconds()) / 1e6
	log.poll()
	fmt.Printf("Completed in %.0f msec\n", ms)
	bench("gcbench_ms", ms, "ms")
	log.report("gcbench")
	bench("gcbench_gcs", float64(len(log.pauses)), "count")
}

// ---- binary-trees -------------------------------------------------------------------

type tnode struct{ left, right *tnode }

func bottomUp(depth int) *tnode {
	if depth <= 0 {
		return &tnode{}
	}
	return &tnode{bottomUp(depth - 1), bottomUp(depth - 1)}
}

func (t *tnode) check() int {
	if t.left == nil {
		return 1
	}
	return 1 + t.left.check() + t.right.check()
}

func bintree() {
	const n = bintreeDepth
	min := 4
	max := n
	if min+2 > max {
		max = min + 2
	}
	t0 := time.Now()
	fmt.Printf("stretch tree of depth %d\t check: %d\n", max+1, bottomUp(max+1).check())
	longLived := bottomUp(max)
	for d := min; d <= max; d += 2 {
		iters := 1 << (max - d + min)
		check := 0
		for i := 0; i < iters; i++ {
			check += bottomUp(d).check()
		}
		fmt.Printf("%d\t trees of depth %d\t check: %d\n", iters, d, check)
	}
	fmt.Printf("long lived tree of depth %d\t check: %d\n", max, longLived.check())
	bench("bintree_ms", float64(time.Since(t0).Nanoseconds())/1e6, "ms")
}

// ---- GC cost per parked goroutine ---------------------------------------------------

func median(samples []float64) float64 {
	sort.Float64s(samples)
	return samples[len(samples)/2]
}

// timedGCs times gcRounds calls of runtime.GC(), calling before() untimed before each.
func timedGCs(before func()) float64 {
	samples := make([]float64, gcRounds)
	for r := range samples {
		if before != nil {
			before()
		}
		t0 := time.Now()
		runtime.GC()
		samples[r] = float64(time.Since(t0).Nanoseconds())
	}
	return median(samples)
}

// recvLoop is BenchmarkGoroutineBlocking's reader; woke counts each value taken.
func recvLoop(c chan struct{}, woke, exited *sync.WaitGroup) {
	defer exited.Done()
	for {
		if _, ok := <-c; !ok {
			return
		}
		woke.Done()
	}
}

// selectLoop is BenchmarkGoroutineSelect's reader.
func selectLoop(c, quit chan struct{}, woke, exited *sync.WaitGroup) {
	defer exited.Done()
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return
			}
		case <-quit:
			return
		}
		woke.Done()
	}
}

// parkedWoken is benchHelper: n readers, each woken once before every timed GC.
func parkedWoken(n int, sel bool) float64 {
	quit := make(chan struct{})
	chans := make([]chan struct{}, n)
	var woke, exited sync.WaitGroup
	exited.Add(n)
	for i := range chans {
		chans[i] = make(chan struct{}, 1)
		if sel {
			go selectLoop(chans[i], quit, &woke, &exited)
		} else {
			go recvLoop(chans[i], &woke, &exited)
		}
	}
	runtime.GC()
	ns := timedGCs(func() {
		woke.Add(n)
		for _, c := range chans {
			c <- struct{}{}
		}
		woke.Wait()
		time.Sleep(10 * time.Millisecond)
	})
	for _, c := range chans {
		close(c)
	}
	close(quit)
	exited.Wait()
	return ns
}

// parkedIdle is BenchmarkGoroutineIdle: n goroutines blocked for good, GCs back to back.
func parkedIdle(n int) float64 {
	quit := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(n)
	exited.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-quit
			exited.Done()
		}()
	}
	started.Wait()
	time.Sleep(10 * time.Millisecond) // the last ones reach their receive
	runtime.GC()
	ns := timedGCs(nil)
	close(quit)
	exited.Wait()
	return ns
}

func parked() {
	var wg sync.WaitGroup
	wg.Add(nWarm)
	for i := 0; i < nWarm; i++ {
		go wg.Done()
	}
	wg.Wait()
	runtime.GC()
	bench("parked_empty_ns", timedGCs(nil), "ns")
	for _, n := range []int{1000, 10000} {
		bench(fmt.Sprintf("parked_recv%d_ns", n), parkedWoken(n, false), "ns")
	}
	for _, n := range []int{1000, 10000} {
		bench(fmt.Sprintf("parked_select%d_ns", n), parkedWoken(n, true), "ns")
	}
	for _, n := range []int{1000, 10000} {
		bench(fmt.Sprintf("parked_idle%d_ns", n), parkedIdle(n), "ns")
	}
}

// ---- pauses under load --------------------------------------------------------------

func stwload() {
	stop := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(nLoadParked)
	exited.Add(nLoadParked)
	for i := 0; i < nLoadParked; i++ {
		go func() {
			started.Done()
			<-stop
			exited.Done()
		}()
	}
	started.Wait()
	longLived := newNode()
	populate(longLivedDepth, longLived)
	runtime.GC()

	log := newPauseLog()
	every := pollNodes / treeSize(loadDepth)
	var wg sync.WaitGroup
	wg.Add(procs)
	for w := 0; w < procs; w++ {
		share := loadTrees / procs
		if w == 0 {
			share += loadTrees % procs
		}
		go func(share int) {
			defer wg.Done()
			for i := 0; i < share; i++ {
				makeTree(loadDepth)
				if i%every == 0 {
					log.poll()
				}
			}
		}(share)
	}
	wg.Wait()
	log.poll()
	close(stop)
	exited.Wait()
	if longLived.left.right == nil {
		fail("stwload: the long-lived tree was lost")
	}
	log.report("stwload")
}

func main() {
	flag.IntVar(&procs, "procs", 0, "GOMAXPROCS (0: leave it)")
	flag.Parse()
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	procs = runtime.GOMAXPROCS(0)
	groups := map[string]func(){
		"gcbench": gcbench, "bintree": bintree, "parked": parked, "stwload": stwload,
	}
	order := []string{"gcbench", "bintree", "parked", "stwload"}
	if flag.NArg() > 0 {
		order = flag.Args()
	}
	for _, name := range order {
		f, ok := groups[name]
		if !ok {
			fail("no group named %q", name)
		}
		f()
	}
}
