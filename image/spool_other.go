//go:build !unix

package image

import (
	"io/fs"
	"os"
)

// processAlive reports whether a process with the pid exists: on Windows,
// finding one opens it.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// ownedByCurrentUser is true where files carry no owner the standard
// library shows; the temp directory is the user's own there.
func ownedByCurrentUser(fs.FileInfo) bool { return true }
