// tests/bench/go/main.go: the Go side of the goroutine benchmarks.
//
// The same programs as tests/boot/gobench_test.c (same sizes, same shapes), printed as
// "BENCH go_<figure>_p<GOMAXPROCS> <value> <unit>"; tools/gobench.py runs this side by
// side with the C runtime and the pthread programs. Each timed figure is the median of
// `rounds` rounds, in nanoseconds per operation.
//
//	gobench [-procs N] [figure ...]     (no figure: all, in the order below)
//
// The memory figure (parked_bytes): `parked` goroutines parked on a channel receive;
// runtime.ReadMemStats before and after, (StackInuse + HeapInuse) delta per goroutine
// (the goroutines' stacks, g structures and sudogs; parked_sys_bytes is the Sys delta).
// It runs first, as the C side's does, before any dead goroutine can be reused.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

const (
	rounds   = 5
	nSpawn   = 10000
	nPings   = 20000
	nMsgs    = 200000
	chanCap  = 128
	nSelects = 200000
	mutexG   = 4
	mutexK   = 50000
)

var procs int

func report(name string, samples []float64) {
	sort.Float64s(samples)
	fmt.Printf("BENCH go_%s_p%d %.1f ns\n", name, procs, samples[len(samples)/2])
}

func timed(name string, ops int, body func()) {
	samples := make([]float64, rounds)
	for r := range samples {
		t0 := time.Now()
		body()
		samples[r] = float64(time.Since(t0).Nanoseconds()) / float64(ops)
	}
	report(name, samples)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gobench: "+format+"\n", args...)
	os.Exit(1)
}

var nParked = 100000

func parked() {
	release := make(chan struct{})
	var ready, exited sync.WaitGroup
	ready.Add(nParked)
	exited.Add(nParked)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < nParked; i++ {
		go func() {
			ready.Done()
			<-release
			exited.Done()
		}()
	}
	ready.Wait()
	runtime.ReadMemStats(&after)
	close(release)
	exited.Wait()
	inuse := (after.StackInuse + after.HeapInuse) - (before.StackInuse + before.HeapInuse)
	fmt.Printf("BENCH go_parked_bytes_p%d %d bytes\n", procs, inuse/uint64(nParked))
	fmt.Printf("BENCH go_parked_sys_bytes_p%d %d bytes\n", procs, (after.Sys-before.Sys)/uint64(nParked))
}

func spawn() {
	round := func() {
		var wg sync.WaitGroup
		wg.Add(nSpawn)
		for i := 0; i < nSpawn; i++ {
			go wg.Done()
		}
		wg.Wait()
	}
	round() // warm-up, untimed, as on the other side: dead goroutines are reused
	timed("spawn", nSpawn, round)
}

func pingpong() {
	timed("pingpong", nPings, func() {
		ping, pong := make(chan uint64), make(chan uint64)
		go func() {
			for i := 0; i < nPings; i++ {
				v := <-ping
				pong <- v + 1
			}
		}()
		for i := uint64(0); i < nPings; i++ {
			ping <- i
			if <-pong != i+1 {
				fail("pingpong: wrong value")
			}
		}
	})
}

func chanbuf() {
	timed("chanbuf", nMsgs, func() {
		c := make(chan uint64, chanCap)
		go func() {
			for i := uint64(0); i < nMsgs; i++ {
				c <- i
			}
		}()
		var sum uint64
		for i := 0; i < nMsgs; i++ {
			sum += <-c
		}
		if sum != nMsgs*(nMsgs-1)/2 {
			fail("chanbuf: sum %d", sum)
		}
	})
}

func select4() {
	timed("select4", nSelects, func() {
		var cs [4]chan uint64
		for k := range cs {
			cs[k] = make(chan uint64, chanCap)
			go func(c chan uint64) {
				for i := uint64(0); i < nSelects/4; i++ {
					c <- i
				}
			}(cs[k])
		}
		var got [4]int
		for i := 0; i < nSelects; i++ {
			select {
			case <-cs[0]:
				got[0]++
			case <-cs[1]:
				got[1]++
			case <-cs[2]:
				got[2]++
			case <-cs[3]:
				got[3]++
			}
		}
		for k := range got {
			if got[k] != nSelects/4 {
				fail("select4: channel %d gave %d", k, got[k])
			}
		}
	})
}

func mutex() {
	timed("mutex", mutexG*mutexK, func() {
		var m sync.Mutex
		var n uint64
		var wg sync.WaitGroup
		wg.Add(mutexG)
		for g := 0; g < mutexG; g++ {
			go func() {
				for i := 0; i < mutexK; i++ {
					m.Lock()
					n++
					m.Unlock()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		if n != mutexG*mutexK {
			fail("mutex: count %d", n)
		}
	})
}

func main() {
	flag.IntVar(&procs, "procs", 0, "GOMAXPROCS (0: leave it)")
	flag.IntVar(&nParked, "parked", nParked, "goroutines parked for the memory figure")
	flag.Parse()
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	procs = runtime.GOMAXPROCS(0)
	figures := map[string]func(){
		"parked": parked, "spawn": spawn, "pingpong": pingpong, "chanbuf": chanbuf,
		"select4": select4, "mutex": mutex,
	}
	order := []string{"parked", "spawn", "pingpong", "chanbuf", "select4", "mutex"}
	if flag.NArg() > 0 {
		order = flag.Args()
	}
	for _, name := range order {
		f, ok := figures[name]
		if !ok {
			fail("no figure named %q", name)
		}
		f()
	}
}
