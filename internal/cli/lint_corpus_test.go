package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

// corpusCheckout is a corpus folder laid out as the files of its
// repository: each file at the path source.txt gives it. It is a partial
// checkout: only those files, not the whole build context.
type corpusCheckout struct {
	name string
	// context is the build context's directory; dockerfile the
	// Dockerfile's path relative to it.
	context, dockerfile string
}

// corpusCheckouts lays out every corpus folder under tmp, or skips when the
// corpus is absent.
func corpusCheckouts(t testing.TB, tmp string) []corpusCheckout {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "README.md")); err != nil {
		t.Skipf("the corpus of real plugin sources is not there (%v)", err)
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusCheckout
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		co, err := layOut(filepath.Join(corpusDir, e.Name()), filepath.Join(tmp, e.Name()))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		co.name = e.Name()
		out = append(out, co)
	}
	if len(out) == 0 {
		t.Fatalf("no folder in %s", corpusDir)
	}
	return out
}

// layOut copies the files of the corpus folder src to their repository
// paths under dst, as source.txt names them ("  SAVED <- REPO/PATH").
func layOut(src, dst string) (corpusCheckout, error) {
	var co corpusCheckout
	raw, err := os.ReadFile(filepath.Join(src, "source.txt"))
	if err != nil {
		return co, err
	}
	context, dockerfile := ".", ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "build context:"); ok {
			context = strings.TrimSpace(v)
			continue
		}
		saved, repoPath, ok := strings.Cut(strings.TrimSpace(line), " <- ")
		if !ok || !strings.HasPrefix(line, "  ") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, saved))
		if err != nil {
			continue // source.txt names a file the folder does not keep
		}
		full := filepath.Join(dst, filepath.FromSlash(repoPath))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return co, err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return co, err
		}
		if saved == "Dockerfile" {
			dockerfile = repoPath
		}
	}
	if dockerfile == "" {
		return co, fmt.Errorf("source.txt names no Dockerfile")
	}
	rel, err := filepath.Rel(filepath.FromSlash(context), filepath.FromSlash(dockerfile))
	if err != nil {
		return co, err
	}
	co.context, co.dockerfile = filepath.Join(dst, filepath.FromSlash(context)), filepath.ToSlash(rel)
	return co, nil
}

// lintCorpus lints a checkout through run with a JSON report.
func lintCorpus(t testing.TB, co corpusCheckout, stdout io.Writer) (int, string) {
	var errb bytes.Buffer
	code := run(context.Background(), []string{"lint", "--format", "json", "--dockerfile", co.dockerfile, co.context},
		func(string) string { return "" }, strings.NewReader(""), stdout, &errb)
	return code, errb.String()
}

// corpusDefects are the defects the lint must find in the corpus, by
// folder, as "RULE SEVERITY POINTER-OR-LABEL": each was checked by hand
// against the folder's files.
var corpusDefects = map[string][]string{
	// metadata.json names /windows/okteto-extension as the linux binary;
	// the Dockerfile copies it to /linux/okteto-extension.
	"okteto__docker-desktop-extension": {"source/files error /host/binaries/0/linux/1/path"},
	// The UI is copied to /uide; metadata.json's root is ui.
	"nginx__docker-extension__hist-27698fb": {"source/files error /ui/dashboard-tab/root"},
	// The icon is epinio.svg; the Dockerfile copies docker.svg.
	"rancher-sandbox__epinio-desktop-extension__hist-4f7a1ad": {"source/files error /icon"},
	// Paths nothing copies, in final stages that have a RUN: the lint
	// cannot tell what the RUN makes, so it says so (a notice).
	"tailscale__docker-extension__hist-f09dfea":               {"source/files notice /host/binaries/0/linux/0/path"},
	"daytonaio__daytona-docker-extension__hist-9b76e83":       {"source/files notice /ui/dashboard-tab/root"},
	"gefyrahq__gefyra-docker-desktop-extension__hist-0fcba73": {"source/files notice /host/binaries/0/windows/0/path"},
	// Description lines without a trailing backslash, and an unbalanced
	// quote: BuildKit refuses the Dockerfile.
	"microcks__microcks-docker-desktop-extension__hist-bb8c655":                {"source/dockerfile error "},
	"redis-field-engineering__redis-enterprise-docker-extension__hist-bf71b5e": {"source/dockerfile error "},
	"layer5io__kanvas-docker-extension__hist-7cb9177":                          {"source/dockerfile error "},
	// additional-urls written in double quotes: the JSON loses its quotes.
	"aquasecurity__trivy-docker-extension__hist-3841c99": {
		"labels/format error com.docker.extension.additional-urls", "source/quote warning com.docker.extension.additional-urls"},
	// VERSION has no default: the version label is empty.
	"ngrok__ngrok-docker-extension": {"source/unset-arg warning org.opencontainers.image.version"},
	// The detailed description is set twice; the changelog uses an ARG
	// with no default.
	"daytonaio__daytona-docker-extension": {
		"source/label-twice warning com.docker.extension.detailed-description", "source/unset-arg warning com.docker.extension.changelog"},
}

// TestLintCorpus lints every corpus folder laid out as a partial checkout:
// none may crash or fail to run, every finding is placed on a file line,
// the known defects are found, and Docker's current samples have no error.
func TestLintCorpus(t *testing.T) {
	t.Parallel()
	for _, co := range corpusCheckouts(t, t.TempDir()) {
		t.Run(co.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			code, stderr := lintCorpus(t, co, &out)
			var rep lintReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code == exitError {
				t.Fatalf("exit %d (%v): the lint could not run\nstderr: %s", code, err, stderr)
			}
			got := map[string]bool{}
			for _, f := range rep.Findings {
				if f.File == "" || f.Line < 1 {
					t.Errorf("%s %s is placed on no file line: %q", f.Rule, f.Severity, f.Message)
				}
				got[f.Rule+" "+f.Severity+" "+f.Pointer+f.Label] = true
				if strings.HasPrefix(co.name, "docker__extensions-sdk__") && !strings.Contains(co.name, "plugin-era") &&
					!slices.Contains([]string{"docker__extensions-sdk__oauth-sample", "docker__extensions-sdk__kubernetes-sample-extension"}, co.name) &&
					f.Severity == "error" {
					t.Errorf("error on a current Docker SDK sample: %s: %s", f.Rule, f.Message)
				}
			}
			for _, want := range corpusDefects[co.name] {
				if !got[want] {
					t.Errorf("the lint misses %q; it found %v", want, slices.Sorted(mapKeys(got)))
				}
			}
			t.Logf("exit %d, %d findings", code, len(rep.Findings))
		})
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestLintAgreesWithTheImageCheck: one rule, one verdict. For every corpus
// folder whose metadata.json the lint reads, the image rules the lint runs
// find on the sources exactly what they find on the two-platform image
// those sources build (imagetest.CorpusIndex).
func TestLintAgreesWithTheImageCheck(t *testing.T) {
	t.Parallel()
	checkouts := corpusCheckouts(t, t.TempDir())
	imagetest.GoBinaries(t, imagetest.CorpusBinaryTargets...)
	shared := map[string]bool{}
	for _, r := range checks.LintRules(&checks.Lint{}) {
		if !strings.HasPrefix(r.ID, "source/") {
			shared[r.ID] = true
		}
	}
	// The image check's corpus report reads no label field: verdicts
	// are compared without it.
	verdicts := func(fs []lintFinding) []string {
		out := []string{}
		for _, f := range fs {
			if shared[f.Rule] {
				out = append(out, strings.Join([]string{f.Rule, f.Severity, f.Platform, f.Pointer, f.Message}, " | "))
			}
		}
		slices.Sort(out)
		return out
	}
	for _, co := range checkouts {
		t.Run(co.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			lintCorpus(t, co, &out)
			var lint lintReport
			if err := json.Unmarshal(out.Bytes(), &lint); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(lint.Findings, func(f lintFinding) bool {
				notRead := f.Rule == "source/files" && f.Path == checks.MetadataPath && f.File == co.dockerfile
				return f.Rule == "source/dockerfile" && f.Severity == "error" || notRead
			}) {
				t.Skip("the lint reads no labels, or no metadata.json, of this folder")
			}
			host := imagetest.Registry(t)
			ref := host + "/corpus/" + corpusRepo(co.name) + ":1.0.0"
			imagetest.Push(t, ref, imagetest.CorpusIndex(t, filepath.Join(corpusDir, co.name)))
			img, _, _ := runCorpus(t, ref)
			var image []lintFinding
			for _, f := range img.Findings {
				image = append(image, lintFinding{Rule: f.Rule, Severity: f.Severity, Message: f.Message, Platform: f.Platform, Pointer: f.Pointer})
			}
			if diff := cmp.Diff(verdicts(image), verdicts(lint.Findings)); diff != "" {
				t.Errorf("verdicts differ (-image +lint):\n%s", diff)
			}
		})
	}
}

// BenchmarkLintCorpus lints every corpus folder once per iteration and
// reports the time per folder:
//
//	go test ./internal/cli -run '^$' -bench BenchmarkLintCorpus -benchtime 20x
func BenchmarkLintCorpus(b *testing.B) {
	checkouts := corpusCheckouts(b, b.TempDir())
	start := time.Now()
	for b.Loop() {
		for _, co := range checkouts {
			if code, stderr := lintCorpus(b, co, io.Discard); code == exitError {
				b.Fatalf("%s: exit 2: %s", co.name, stderr)
			}
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*len(checkouts)), "µs/folder")
}
