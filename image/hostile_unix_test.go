//go:build unix

package image

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// hangGuard is how long a step that must not block may take before the
// test calls it hung. It only tells a hang from a failure; no test
// asserts a duration.
const hangGuard = 30 * time.Second

// noHang runs f, which must return although fifos are named pipes nobody
// writes to. If it blocks, the test opens the pipes' writing ends itself
// (so that f can end) and fails.
func noHang(t *testing.T, fifos []string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return
	case <-time.After(hangGuard):
	}
	for _, p := range fifos {
		if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}
	<-done
	t.Fatalf("blocked on a named pipe (%v)", fifos)
}

// mkfifo replaces p with a named pipe.
func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
}
