package imagetest

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// helloMain is the program GoBinary compiles: small, standard library only.
const helloMain = `package main

func main() { println("hi") }
`

// maxGoBuilds bounds how many `go build` commands run at once in one test
// process; each is CPU- and memory-hungry (a cold build of a new GOOS/GOARCH
// compiles the runtime).
const maxGoBuilds = 2

var (
	goBuildSem = make(chan struct{}, maxGoBuilds)

	goBinMu sync.Mutex
	goBins  = map[string]*goBinary{} // by "goos/goarch"
)

// goBinary is one cached build; once guards the build, the rest is its result.
type goBinary struct {
	once sync.Once
	data []byte
	err  error
}

// GoBinary returns a tiny Go program (it prints "hi") compiled for goos and
// goarch by the go command running the tests, with CGO_ENABLED=0, -trimpath
// and stripped symbols, and GOARM=7 for arm. It builds each goos/goarch once
// per test process and returns the same bytes to every caller after that;
// callers must not modify them. The program is a standalone module in a
// fresh directory under os.TempDir, removed as soon as the binary is read,
// so it depends neither on this repository nor on the test's lifetime.
func GoBinary(t testing.TB, goos, goarch string) []byte {
	t.Helper()
	b, err := goBinaryFor(goos, goarch)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GoBinaries returns GoBinary for each "goos/goarch" target, keyed by
// target. Missing builds run concurrently, at most two `go build` at a time
// across the whole test process.
func GoBinaries(t testing.TB, targets ...string) map[string][]byte {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	for _, target := range targets {
		if goos, goarch, ok := strings.Cut(target, "/"); !ok || goos == "" || goarch == "" {
			t.Fatalf("GoBinaries: target %q is not goos/goarch", target)
		}
	}
	results := make([]result, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		goos, goarch, _ := strings.Cut(target, "/")
		wg.Go(func() {
			results[i].data, results[i].err = goBinaryFor(goos, goarch)
		})
	}
	wg.Wait()
	out := make(map[string][]byte, len(targets))
	var errs []error
	for i, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		out[targets[i]] = r.data
	}
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return out
}

// goBinaryFor returns the cached build of goos/goarch, building it first if
// no caller has. A failed build is cached too: every caller sees its error.
func goBinaryFor(goos, goarch string) ([]byte, error) {
	key := goos + "/" + goarch
	goBinMu.Lock()
	gb, ok := goBins[key]
	if !ok {
		gb = &goBinary{}
		goBins[key] = gb
	}
	goBinMu.Unlock()
	gb.once.Do(func() {
		goBuildSem <- struct{}{}
		defer func() { <-goBuildSem }()
		gb.data, gb.err = buildGo(goos, goarch)
	})
	return gb.data, gb.err
}

// buildGo compiles helloMain for goos/goarch in a throwaway module.
func buildGo(goos, goarch string) ([]byte, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		// `go test` puts its own GOROOT/bin first in PATH, so this is
		// only reached when the tests were started some other way.
		goroot := os.Getenv("GOROOT")
		if goroot == "" {
			return nil, fmt.Errorf("finding the go command: %w", err)
		}
		goCmd = filepath.Join(goroot, "bin", "go")
	}
	dir, err := os.MkdirTemp("", "imagetest-gobinary-")
	if err != nil {
		return nil, fmt.Errorf("creating build directory for %s/%s: %w", goos, goarch, err)
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.21\n",
		"main.go": helloMain,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, fmt.Errorf("writing %s for %s/%s: %w", name, goos, goarch, err)
		}
	}
	out := "hello"
	cmd := exec.Command(goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0",
		"GOOS="+goos,
		"GOARCH="+goarch,
		"GOARM=7",      // read only when GOARCH=arm
		"GOWORK=off",   // a go.work around the temp dir must not capture it
		"GOFLAGS=",     // the caller's flags (-mod=vendor...) are for another module
		"GO111MODULE=", // module mode, whatever the caller set
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building hello for %s/%s: %w\n%s", goos, goarch, err, stderr.Bytes())
	}
	data, err := os.ReadFile(filepath.Join(dir, out))
	if err != nil {
		return nil, fmt.Errorf("reading hello for %s/%s: %w", goos, goarch, err)
	}
	return data, nil
}

// fatAlign is the alignment, as a power of two, of each architecture in a
// universal binary: 2^14, the arm64 page size, as Apple's lipo writes it.
const fatAlign = 14

// UniversalMachO returns a universal ("fat") Mach-O holding the thin darwin
// binaries amd64 and arm64, in that order, as lipo writes one: a big-endian
// fat header, one fat_arch entry per binary, and each binary at an offset
// aligned to 2^14.
func UniversalMachO(t testing.TB, amd64, arm64 []byte) []byte {
	t.Helper()
	thins := [][]byte{amd64, arm64}
	type arch struct {
		cpu, sub uint32
		off      uint32
		data     []byte
	}
	var archs []arch
	const headerSize = 8 + 2*20 // fat_header + 2 × fat_arch
	off := uint32(headerSize)
	for i, data := range thins {
		f, err := macho.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("UniversalMachO: binary %d is not a thin Mach-O: %v", i, err)
		}
		off = (off + 1<<fatAlign - 1) &^ (1<<fatAlign - 1)
		archs = append(archs, arch{cpu: uint32(f.Cpu), sub: f.SubCpu, off: off, data: data})
		off += uint32(len(data))
	}
	out := make([]byte, off)
	binary.BigEndian.PutUint32(out[0:], macho.MagicFat)
	binary.BigEndian.PutUint32(out[4:], uint32(len(archs)))
	for i, a := range archs {
		e := out[8+20*i:]
		binary.BigEndian.PutUint32(e[0:], a.cpu)
		binary.BigEndian.PutUint32(e[4:], a.sub)
		binary.BigEndian.PutUint32(e[8:], a.off)
		binary.BigEndian.PutUint32(e[12:], uint32(len(a.data)))
		binary.BigEndian.PutUint32(e[16:], fatAlign)
		copy(out[a.off:], a.data)
	}
	return out
}
