// Command swarm measures paasd with PAAS_SCHEDULER=swarm on a test
// swarm of one Docker engine and on one of three (internal/swarmtest:
// each engine in a network namespace of its own, all on this one
// machine), with PAAS_SCHEDULER=local (the docker runtime on the host's
// engine) as the reference. For each setup it starts paasd on loopback
// ports with a fresh data dir and, with one test app:
//
//   - push to serving: git push start to the new release answering
//     through the router, once cold, then -pushes-1 times warm with a
//     changed commit (a push whose instance ran on a swarm node new to
//     the app, which first pulls the stack's layers from paasd's
//     registry, is reported apart);
//   - ps:scale web=3 from web=1 to all three instances answering through
//     the router, -rounds times (scaled back to web=1 between rounds);
//   - requests/s, p50 and p99 through the router to the 3 web instances
//     (wrk, as the router benchmark drives its targets), -rounds runs of
//     -duration each, with the nodes the instances ran on.
//
// It prints a table and writes it to bench/results/swarm.txt (or the
// file -out names). It needs root (network namespaces, engines of its
// own), dockerd, wrk and the stack image on the host's engine.
//
//	go run ./bench/swarm [-pushes 6] [-rounds 3] [-duration 5s] [-conns 32] [-app go] [-setups 1,3,local]
//	go run ./bench/swarm -quick
//
// -quick takes 2 pushes, 1 round of 3 s and the python app (whose cold
// build takes seconds, not the Go app's minute): a run of about 4
// minutes on 2 cores.
package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"paas/bench/internal/results"
)

// settings are the benchmark's parameters.
type settings struct {
	pushes   int           // pushes per setup, the first cold
	rounds   int           // ps:scale rounds and wrk runs per setup
	duration time.Duration // one wrk run
	conns    int           // wrk's keep-alive connections
	threads  int           // wrk's threads
	app      string        // the test app under e2e/testdata/apps
	note     string        // added to the table's notes
	setups   []setup
}

func main() {
	var s settings
	flag.IntVar(&s.pushes, "pushes", 6, "pushes per setup (the first is cold)")
	flag.IntVar(&s.rounds, "rounds", 3, "ps:scale rounds and wrk runs per setup")
	flag.DurationVar(&s.duration, "duration", 5*time.Second, "length of one wrk run")
	flag.IntVar(&s.conns, "conns", 32, "wrk's keep-alive connections")
	flag.IntVar(&s.threads, "threads", 2, "wrk's threads")
	flag.StringVar(&s.app, "app", "go", "test app pushed (a directory of e2e/testdata/apps whose answer ends with its release, \" vN\")")
	flag.StringVar(&s.note, "note", "", "a line added to the table's notes (such as what else ran on the machine)")
	only := flag.String("setups", "1,3,local", "setups measured, in order: swarms of 1 and 3 nodes, and local")
	quick := flag.Bool("quick", false, "2 pushes, 1 round of 3s, the python app unless -app says: a run of a few minutes")
	results.Main("swarm", func(ctx context.Context, w *results.Table) error {
		if *quick {
			s.pushes, s.rounds, s.duration = 2, 1, 3*time.Second
			if !flagSet("app") {
				s.app = "python" // no cold Go build of its standard library
			}
		}
		if s.pushes < 1 || s.rounds < 1 || s.conns < 1 || s.threads < 1 || s.duration < time.Second {
			return fmt.Errorf("-pushes, -rounds, -conns and -threads must be at least 1, -duration at least 1s")
		}
		var err error
		if s.setups, err = parseSetups(*only); err != nil {
			return err
		}
		return run(ctx, w, s)
	})
}

// flagSet tells whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
