//go:build !linux

package image

import (
	"errors"
	"os"
)

// kernelStat has no openat2 with RESOLVE_IN_ROOT to ask outside Linux.
func kernelStat(dir, p string, noFollow bool) (fi os.FileInfo, err error, ok bool) {
	return nil, errors.New("no openat2"), false
}
