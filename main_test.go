package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/cli"
)

// TestInterruptible: the first signal cancels the run's context with a
// cause that names the signal; a second one exits at once.
func TestInterruptible(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var stderr syncBuffer
	ctx, stop := interruptible(context.Background(), sigs, func(code int) { exited <- code }, &stderr)
	defer stop()
	sigs <- syscall.SIGINT
	<-ctx.Done()
	if cause := context.Cause(ctx); !errors.Is(cause, cli.ErrInterrupted) || !strings.Contains(cause.Error(), "interrupt") {
		t.Errorf("cause = %v, want interrupted by the signal", cause)
	}
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) after the first signal", code)
	default:
	}
	sigs <- syscall.SIGTERM
	if code := <-exited; code != exitNow {
		t.Errorf("second signal exited %d, want %d", code, exitNow)
	}
	if !strings.Contains(stderr.String(), "again to exit at once") {
		t.Errorf("stderr = %q, want the hint about a second signal", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
