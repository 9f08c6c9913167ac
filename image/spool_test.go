package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if processAlive(pid) {
		t.Skipf("pid %d was reused at once", pid)
	}
	return pid
}

// entries lists a directory's names, sorted.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, de := range des {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return out
}

// mkdirWithFile makes directory p holding one file.
func mkdirWithFile(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "blob-1"), []byte("spooled"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// staleSpools fills dir with spool directories of dead and live runs, and
// look-alikes; it returns the names the sweep must keep.
func staleSpools(t *testing.T, dir string) (keep []string) {
	t.Helper()
	dead, alive := strconv.Itoa(deadPID(t)), strconv.Itoa(os.Getppid())
	name := func(pid, random string) string { return spoolPrefix + pid + "-" + random }
	mkdirWithFile(t, filepath.Join(dir, name(dead, "0123456789ab")))
	mkdirWithFile(t, filepath.Join(dir, name(dead, "ba9876543210")))
	keep = []string{
		name(alive, "0123456789ab"),
		name(strconv.Itoa(os.Getpid()), "0123456789ab"),
		name(dead, "0123456789"),            // not the pattern: short
		name(dead, "0123456789AB"),          // not the pattern: upper case
		name("0"+dead, "0123456789ab"),      // not the pattern: leading zero
		"desktop-plugin-check-" + dead,      // another tool's name
		name(dead, "0123456789ab") + ".bak", // not the pattern
	}
	for _, k := range keep {
		mkdirWithFile(t, filepath.Join(dir, k))
	}
	// A symlink with a spool's name, to a directory: neither goes.
	target := filepath.Join(t.TempDir(), "target")
	mkdirWithFile(t, target)
	link := name(dead, "111111111111")
	if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
		t.Fatal(err)
	}
	// A regular file with a spool's name.
	file := name(dead, "222222222222")
	if err := os.WriteFile(filepath.Join(dir, file), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, link, file)
	// Another user's spool directory, where the test can make one.
	if os.Getuid() == 0 {
		other := name(dead, "333333333333")
		mkdirWithFile(t, filepath.Join(dir, other))
		if err := os.Chown(filepath.Join(dir, other), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		keep = append(keep, other)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(target, "blob-1")); err != nil {
			t.Errorf("the sweep followed a symlink: %v", err)
		}
	})
	sort.Strings(keep)
	return keep
}

// TestRemoveStaleSpools: only directories named as spools, of a process
// that is gone, owned by the current user and not symlinks, are removed.
func TestRemoveStaleSpools(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keep := staleSpools(t, dir)
	removeStaleSpools(dir)
	if diff := cmp.Diff(keep, entries(t, dir)); diff != "" {
		t.Errorf("after the sweep mismatch (-want +got):\n%s", diff)
	}
}

// TestSpoolLifecycle: a run spools into one directory named after its pid,
// shared by the images it opens; opening a registry image first removes
// what killed runs left; closing the last image removes the run's
// directory, whatever state the reads were in; so does RemoveSpools.
//
// Not parallel: RemoveSpools removes the spools of every test running.
func TestSpoolLifecycle(t *testing.T) {
	host := imagetest.Registry(t)
	big := imagetest.CompressedLayer(t,
		reg("metadata.json", imagetest.PluginMetadata),
		reg("big", string(imagetest.Incompressible(2*earlyStopMin, "big"))),
		reg("late", "late"))
	ref := host + "/acme/big:1.0.0"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{big}}))
	ctx := context.Background()
	tmp := t.TempDir()
	keep := staleSpools(t, tmp)

	open := func() *Image {
		img, err := Open(ctx, ref, Options{TempDir: tmp})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { img.Close() }) // before the registry's: streams are held open
		return img
	}
	first, second := open(), open()
	if diff := cmp.Diff(keep, entries(t, tmp)); diff != "" {
		t.Errorf("after Open mismatch (-want +got):\n%s", diff)
	}
	// An early stop leaves the stream open and the blob partly spooled.
	for _, img := range []*Image{first, second} {
		if _, err := img.Variants[0].Files(ctx, Want{Path: "/metadata.json", Max: 100}); err != nil {
			t.Fatal(err)
		}
	}
	var runs []string
	for _, n := range entries(t, tmp) {
		if !slices.Contains(keep, n) && regexp.MustCompile(fmt.Sprintf(`^desktop-plugin-check-spool-%d-[0-9a-f]{12}$`, os.Getpid())).MatchString(n) {
			runs = append(runs, n)
		}
	}
	if len(runs) != 1 {
		t.Fatalf("spool directories of this run: %v, want one", runs)
	}
	if images := entries(t, filepath.Join(tmp, runs[0])); len(images) != 2 {
		t.Errorf("run spool directory holds %v, want one directory per image", images)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if images := entries(t, filepath.Join(tmp, runs[0])); len(images) != 1 {
		t.Errorf("after closing one image the run spool directory holds %v, want the other's", images)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keep, entries(t, tmp)); diff != "" {
		t.Errorf("after Close mismatch (-want +got):\n%s", diff)
	}

	// An Open that fails leaves nothing.
	if img, err := Open(ctx, host+"/acme/big:9.9.9", Options{TempDir: tmp}); err == nil {
		img.Close()
		t.Fatal("Open of a missing tag succeeded")
	}
	if diff := cmp.Diff(keep, entries(t, tmp)); diff != "" {
		t.Errorf("after a failed Open mismatch (-want +got):\n%s", diff)
	}

	// A process about to exit without closing its images removes its
	// spool with RemoveSpools.
	third := open()
	if _, err := third.Variants[0].Files(ctx, Want{Path: "/metadata.json", Max: 100}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveSpools(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keep, entries(t, tmp)); diff != "" {
		t.Errorf("after RemoveSpools mismatch (-want +got):\n%s", diff)
	}
	if err := third.Close(); err != nil {
		t.Errorf("Close after RemoveSpools: %v", err)
	}
}
