package imagetest

import (
	"net/http"
	"time"
)

// Slow wraps a handler as a distant registry: every request waits latency
// before it is answered, and bodies are written at bytesPerSec at most
// (per response, in 32 KiB steps).
func Slow(h http.Handler, latency time.Duration, bytesPerSec int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		h.ServeHTTP(&throttled{ResponseWriter: w, rate: bytesPerSec, start: time.Now(), done: r.Context().Done()}, r)
	})
}

// throttled writes a response body no faster than rate bytes a second.
type throttled struct {
	http.ResponseWriter
	rate  int64
	start time.Time
	sent  int64
	done  <-chan struct{}
}

func (t *throttled) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 32<<10)
		k, err := t.ResponseWriter.Write(p[:n])
		written += k
		t.sent += int64(k)
		if err != nil {
			return written, err
		}
		p = p[n:]
		if t.rate > 0 {
			due := t.start.Add(time.Duration(float64(t.sent) / float64(t.rate) * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				timer := time.NewTimer(wait)
				select {
				case <-timer.C:
				case <-t.done:
					timer.Stop()
					return written, http.ErrHandlerTimeout
				}
			}
		}
	}
	return written, nil
}

// Flush passes flushes on.
func (t *throttled) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
