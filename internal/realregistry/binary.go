package realregistry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// DefaultBinary is where Debian's docker-registry package (CNCF
// distribution 2.8) installs the registry server, which StartBinary runs
// when docker-registry is not on PATH.
const DefaultBinary = "/usr/bin/docker-registry"

// SkipNotInstalled is the message StartBinary skips with when the server is
// not installed.
const SkipNotInstalled = "docker-registry is not installed: apt-get install -y docker-registry (.ci/run does)"

const (
	// binaryReadyTimeout bounds the wait for a started server to answer.
	binaryReadyTimeout = 20 * time.Second
	// binaryAttempts is how many ports StartBinary tries: the free port it
	// picks may be taken by someone else before the server binds it.
	binaryAttempts = 5
	// instanceHeader is a response header, with a value unique to each
	// server, that tells StartBinary that the server answering on its port
	// is the one it started.
	instanceHeader = "X-Realregistry-Instance"
)

// FindBinary returns the docker-registry binary on PATH or, failing that,
// fallback when it is an executable file; "" when there is neither.
func FindBinary(fallback string) string {
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p
	}
	if fi, err := os.Stat(fallback); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return fallback
	}
	return ""
}

// StartBinary runs the registry server of Debian's docker-registry package
// (CNCF distribution 2.8) as a separate process, configured as Start
// configures the in-process one: it accepts user with password (HTTP basic
// auth, checked against a bcrypt htpasswd file), on plain HTTP on
// 127.0.0.1, and every request, reads included, needs the credentials. It
// returns the server's host (127.0.0.1:PORT).
//
// Storage is a directory under t.TempDir(), which also holds the
// configuration, and the process's working directory, HOME and TMPDIR. The
// process is killed, and waited for, when the test ends; its output is
// logged only if the test failed.
//
// The test is skipped, with SkipNotInstalled, when the binary is neither on
// PATH nor at DefaultBinary.
func StartBinary(t testing.TB, user, password string) (host string) {
	t.Helper()
	return startBinary(t, FindBinary(DefaultBinary), user, password, freePort)
}

// startBinary is StartBinary running bin on a port from ports, trying
// another one when the port was taken; bin == "" skips the test.
func startBinary(t testing.TB, bin, user, password string, ports func() (int, error)) string {
	t.Helper()
	if bin == "" {
		t.Skip(SkipNotInstalled)
	}
	if user == "" || strings.Contains(user, ":") {
		t.Fatalf("realregistry: user name %q is not valid in an htpasswd file", user)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("realregistry: hashing password: %v", err)
	}
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatalf("realregistry: writing htpasswd: %v", err)
	}
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o700); err != nil {
		t.Fatalf("realregistry: %v", err)
	}

	var lastOut string
	for attempt := 1; attempt <= binaryAttempts; attempt++ {
		host, out, err := startBinaryOnce(t, bin, dir, storage, htpasswd, ports, attempt)
		if err == nil {
			return host
		}
		lastOut = out
		if !errors.Is(err, errPortTaken) {
			t.Fatalf("realregistry: starting %s: %v\noutput:\n%s", bin, err, out)
		}
	}
	t.Fatalf("realregistry: starting %s: %d ports in a row were taken before it could listen\nlast output:\n%s", bin, binaryAttempts, lastOut)
	return ""
}

// errPortTaken is startBinaryOnce's error when the server could not listen
// on the port it was given.
var errPortTaken = errors.New("the port was taken")

// startBinaryOnce writes the configuration for a port from ports and starts
// the server on it. On success the server runs until the test ends; on
// failure it has exited, and out is what it wrote.
func startBinaryOnce(t testing.TB, bin, dir, storage, htpasswd string, ports func() (int, error), attempt int) (host, out string, err error) {
	t.Helper()
	port, err := ports()
	if err != nil {
		return "", "", err
	}
	host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	instance, err := randomHex()
	if err != nil {
		return "", "", err
	}
	cfg := map[string]any{
		"version": "0.1",
		"log": map[string]any{
			"level":     "error",
			"accesslog": map[string]any{"disabled": true},
		},
		"storage": map[string]any{
			"filesystem": map[string]any{"rootdirectory": storage},
			// No background upload purger.
			"maintenance": map[string]any{"uploadpurging": map[string]any{"enabled": false}},
		},
		"http": map[string]any{
			"addr": host,
			// A fixed secret keeps the server from warning that it
			// generated one.
			"secret":  "realregistry-upload-state-secret",
			"headers": map[string]any{instanceHeader: []string{instance}},
		},
		"auth": map[string]any{
			"htpasswd": map[string]any{"realm": "realregistry", "path": htpasswd},
		},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", "", err
	}
	config := filepath.Join(dir, fmt.Sprintf("config-%d.yml", attempt))
	if err := os.WriteFile(config, b, 0o600); err != nil {
		return "", "", err
	}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", config)
	cmd.Dir = dir
	// A clean environment: the server reads REGISTRY_* variables as
	// configuration, and nothing of the caller's is needed.
	cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir}
	var output lockedBuffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	killWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		cancel()
		return "", "", err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		cancel()
		<-exited
	}

	ready, err := waitReady(host, instance, exited)
	if !ready {
		stop()
		out := output.String()
		if err == nil {
			err = fmt.Errorf("exited before answering (%v)", waitErr)
			if strings.Contains(out, "address already in use") {
				err = errPortTaken
			}
		}
		return "", out, err
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("realregistry: output of %s serve (%s):\n%s", bin, host, output.String())
		}
	})
	return host, "", nil
}

// waitReady polls GET /v2/ on host until the server started with instance
// answers it with 401 (it needs credentials), the server exits, or
// binaryReadyTimeout passes.
func waitReady(host, instance string, exited <-chan struct{}) (bool, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(binaryReadyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return false, nil
		default:
		}
		resp, err := client.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.Header.Get(instanceHeader) == instance {
				if resp.StatusCode == http.StatusUnauthorized {
					return true, nil
				}
				return false, fmt.Errorf("GET http://%s/v2/ without credentials = %d, want %d", host, resp.StatusCode, http.StatusUnauthorized)
			}
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("no answer from http://%s/v2/ within %v", host, binaryReadyTimeout)
		}
		select {
		case <-exited:
			return false, nil
		case <-tick.C:
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// killWithParent asks the kernel, where it can (Pdeathsig, on Linux and
// FreeBSD), to kill the server when the test process dies without running
// its cleanups (a -timeout panic, a kill). The field does not exist on other
// systems, hence reflection.
func killWithParent(attr *syscall.SysProcAttr) {
	f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig")
	if f.IsValid() && f.CanSet() && f.Type() == reflect.TypeOf(syscall.SIGKILL) {
		f.Set(reflect.ValueOf(syscall.SIGKILL))
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
