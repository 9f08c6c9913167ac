//go:build linux

package image

import (
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// Linux's openat2(2), which the syscall package does not wrap: the number is
// the same on every architecture Go supports.
const (
	sysOpenat2    = 437
	oPath         = 0x200000 // O_PATH
	resolveInRoot = 0x10     // RESOLVE_IN_ROOT
)

// kernelStat returns what the kernel finds at p below dir for a process
// whose root is dir: openat2 with RESOLVE_IN_ROOT resolves ".." at dir to
// dir, and absolute symlinks from dir, as a chroot (a container) does. With
// noFollow a symlink at p itself is not followed. ok is false when the
// kernel has no openat2.
func kernelStat(dir, p string, noFollow bool) (fi os.FileInfo, err error, ok bool) {
	root, err := os.Open(dir)
	if err != nil {
		return nil, err, true
	}
	defer root.Close()
	how := struct{ flags, mode, resolve uint64 }{flags: oPath | syscall.O_CLOEXEC, resolve: resolveInRoot}
	if noFollow {
		how.flags |= syscall.O_NOFOLLOW
	}
	name, err := syscall.BytePtrFromString(p)
	if err != nil {
		return nil, err, true
	}
	for {
		fd, _, errno := syscall.Syscall6(sysOpenat2, root.Fd(), uintptr(unsafe.Pointer(name)),
			uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
		switch errno {
		case 0:
		case syscall.EAGAIN:
			continue // a rename raced with the walk of ".."
		case syscall.ENOSYS:
			return nil, errno, false // no openat2 (or a seccomp filter hiding it)
		default:
			return nil, errno, true
		}
		f := os.NewFile(fd, filepath.Join(dir, p))
		defer f.Close()
		fi, err := f.Stat()
		return fi, err, true
	}
}
