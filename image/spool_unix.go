//go:build unix

package image

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// processAlive reports whether a process with the pid exists (perhaps
// another user's: then it is alive too).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ownedByCurrentUser reports whether the current user owns the file.
func ownedByCurrentUser(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
