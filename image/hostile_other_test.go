//go:build !unix

package image

import "testing"

// noHang runs f: without named pipes nothing can block it.
func noHang(t *testing.T, fifos []string, f func()) { f() }

// mkfifo skips the test: there are no named pipes here.
func mkfifo(t *testing.T, p string) {
	t.Helper()
	t.Skip("no named pipes on this system")
}
