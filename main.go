// Command desktop-plugin-check checks a Docker Desktop plugin (extension)
// image before and after it is pushed: labels, metadata.json, platforms and
// what users of each Docker Desktop will get.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/desktop-plugin-check/internal/cli"
)

//go:generate go run ./internal/cmd/genfixtures testdata

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// A second signal exits at once: remove the spooled blobs first (the
	// next run would sweep them anyway).
	exit := func(code int) { cli.Cleanup(); os.Exit(code) }
	ctx, stop := interruptible(context.Background(), sigs, exit, os.Stderr)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	signal.Stop(sigs)
	os.Exit(code)
}

// exitNow is the exit code of a second signal: the check could not run.
const exitNow = 2

// interruptible returns a context that the first signal on sigs cancels
// with cli.ErrInterrupted (the run then reports what it learned and exits
// 2); a second signal exits at once through exit. GitHub cancels a job
// with SIGINT, then SIGTERM.
func interruptible(parent context.Context, sigs <-chan os.Signal, exit func(int), stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "desktop-plugin-check: %v: stopping the check (again to exit at once)\n", s)
			cancel(fmt.Errorf("%w by %v", cli.ErrInterrupted, s))
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "desktop-plugin-check: %v again: exiting\n", s)
			exit(exitNow)
		case <-done:
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}
