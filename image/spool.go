package image

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// A run spools blobs into one directory of the temp directory, named
// desktop-plugin-check-spool-PID-RANDOM (RANDOM: 12 hex digits), holding a
// directory per open image. Closing the last image removes it; a run that
// was killed leaves it behind, and the next run that spools in the same
// temp directory removes it once the process PID is gone.
const spoolPrefix = "desktop-plugin-check-spool-"

// spoolRuns are this process's spool directories, by parent directory.
var spoolRuns = struct {
	mu    sync.Mutex
	runs  map[string]*spoolRun
	swept map[string]bool // parents already rid of stale spools
}{runs: map[string]*spoolRun{}, swept: map[string]bool{}}

type spoolRun struct {
	dir   string
	users int // images with a directory in it
}

// spoolParent is the directory a run's spool goes in: parent, or
// os.TempDir() when it is empty.
func spoolParent(parent string) string {
	if parent == "" {
		parent = os.TempDir()
	}
	if abs, err := filepath.Abs(parent); err == nil {
		parent = abs
	}
	return parent
}

// acquireSpool makes a directory for one image's spooled blobs in the run's
// spool directory under parent, and returns it with the function that
// removes it (and the run's directory, with the last image).
func acquireSpool(parent string) (string, func() error, error) {
	parent = spoolParent(parent)
	spoolRuns.mu.Lock()
	defer spoolRuns.mu.Unlock()
	run := spoolRuns.runs[parent]
	if run == nil {
		sweepLocked(parent)
		dir, err := makeRunDir(parent)
		if err != nil {
			return "", nil, fmt.Errorf("making spool directory: %w", err)
		}
		run = &spoolRun{dir: dir}
		spoolRuns.runs[parent] = run
	}
	dir, err := os.MkdirTemp(run.dir, "image-")
	if err != nil {
		if run.users == 0 {
			os.RemoveAll(run.dir)
			delete(spoolRuns.runs, parent)
		}
		return "", nil, fmt.Errorf("making spool directory: %w", err)
	}
	run.users++
	var once sync.Once
	var releaseErr error
	release := func() error {
		once.Do(func() {
			releaseErr = os.RemoveAll(dir)
			spoolRuns.mu.Lock()
			defer spoolRuns.mu.Unlock()
			if run.users--; run.users == 0 {
				releaseErr = errors.Join(releaseErr, os.RemoveAll(run.dir))
				if spoolRuns.runs[parent] == run {
					delete(spoolRuns.runs, parent)
				}
			}
		})
		return releaseErr
	}
	return dir, release, nil
}

// makeRunDir makes desktop-plugin-check-spool-PID-RANDOM in parent,
// readable by the current user only.
func makeRunDir(parent string) (string, error) {
	for try := 0; ; try++ {
		var b [6]byte
		rand.Read(b[:])
		dir := filepath.Join(parent, spoolPrefix+strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(b[:]))
		err := os.Mkdir(dir, 0o700)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 10 {
			return dir, err
		}
	}
}

// RemoveSpools removes the spool directories of this process, for a
// process about to exit without closing the images it opened (a second
// interrupt). Images still open spool nothing more that can be kept.
func RemoveSpools() error {
	spoolRuns.mu.Lock()
	defer spoolRuns.mu.Unlock()
	var errs []error
	for parent, run := range spoolRuns.runs {
		errs = append(errs, os.RemoveAll(run.dir))
		delete(spoolRuns.runs, parent)
	}
	return errors.Join(errs...)
}

// sweepStaleSpools removes, once per process and parent, the spool
// directories that earlier runs left in parent (os.TempDir() when empty)
// when they were killed.
func sweepStaleSpools(parent string) {
	parent = spoolParent(parent)
	spoolRuns.mu.Lock()
	defer spoolRuns.mu.Unlock()
	sweepLocked(parent)
}

func sweepLocked(parent string) {
	if spoolRuns.swept[parent] {
		return
	}
	spoolRuns.swept[parent] = true
	removeStaleSpools(parent)
}

// removeStaleSpools removes the directories of parent named
// desktop-plugin-check-spool-PID-RANDOM whose process PID is no longer
// alive, if they are directories (not symlinks) owned by the current
// user. Nothing else is touched; errors leave an entry where it is.
func removeStaleSpools(parent string) {
	root, err := os.OpenRoot(parent)
	if err != nil {
		return
	}
	defer root.Close()
	f, err := root.Open(".")
	if err != nil {
		return
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			pid, ok := spoolPID(e.Name())
			if !ok || e.Type() != fs.ModeDir || pid == os.Getpid() || processAlive(pid) {
				continue
			}
			// Lstat again: the entry must still be our directory.
			fi, err := root.Lstat(e.Name())
			if err != nil || !fi.IsDir() || !ownedByCurrentUser(fi) {
				continue
			}
			root.RemoveAll(e.Name())
		}
		if err != nil {
			return
		}
	}
}

// spoolPID returns the PID in a spool directory name, which must be
// exactly desktop-plugin-check-spool-PID-RANDOM.
func spoolPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, spoolPrefix)
	if !ok {
		return 0, false
	}
	p, random, ok := strings.Cut(rest, "-")
	if !ok || len(random) != 12 || strings.Trim(random, "0123456789abcdef") != "" ||
		p == "" || len(p) > 10 || p[0] == '0' || strings.Trim(p, "0123456789") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	return pid, err == nil && pid > 0
}
