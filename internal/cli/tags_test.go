package cli

import (
	"context"
	"fmt"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// manyTags pushes one release and tags it n times (1.0.0 ... and junk).
func manyTags(tb testing.TB, host string, n int) {
	tb.Helper()
	idx := imagetest.Plugin(tb, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256)
	imagetest.Push(tb, host+"/acme/plugin:0.0.1", idx)
	ref, _ := name.ParseReference(host + "/acme/plugin:0.0.1")
	desc, err := remote.Get(ref)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := remote.NewPusher()
	if err != nil {
		tb.Fatal(err)
	}
	repo := ref.Context()
	for i := range n {
		tag := fmt.Sprintf("1.%d.%d", i/100, i%100)
		if i%10 == 9 {
			tag = fmt.Sprintf("sha-%06x", i)
		}
		if err := p.Push(context.Background(), repo.Tag(tag), desc); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestVersionTenThousandTags: every page of a 10,000-tag repository is
// listed (the highest version is on the last page) and ordered.
func TestVersionTenThousandTags(t *testing.T) {
	t.Parallel()
	host := imagetest.PagedRegistry(t, 100)
	manyTags(t, host, 10000)
	imagetest.Push(t, host+"/staging/plugin:c", pluginWithAPI(t, ">= 0.3.0", "c"))
	_, rep, out := runVersion(t, "--release", "1.50.0", "--repository", host+"/acme/plugin", "--desktop-api-version", "0.3.4", host+"/staging/plugin:c")
	// 1.99.98 is the highest: below it, 1.50.0 with the same API is never installed.
	if len(rep.Impact) != 1 || rep.Impact[0].Before != "1.99.98" {
		t.Fatalf("impact = %+v, want 1.99.98 offered before (every page listed)\n%s", rep.Impact, out)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "version/monotonic" && f.Severity == "error" {
			found = true
		}
	}
	if !found {
		t.Errorf("no version/monotonic error: %v", rep.rules())
	}
	// 10,000 tags / 100 per page = 100 list requests at least.
	if rep.Stats.Requests < 100 {
		t.Errorf("%d requests: the tag list was not paged", rep.Stats.Requests)
	}
}

// BenchmarkTagHistory measures listing and ordering 10,000 tags (paged by
// 100 like Docker Hub) and predicting the upgrade impact.
func BenchmarkTagHistory(b *testing.B) {
	host := imagetest.PagedRegistry(b, 100)
	manyTags(b, host, 10000)
	imagetest.Push(b, host+"/staging/plugin:c", pluginWithAPI(b, ">= 0.3.0", "c"))
	args := []string{"--format", "json", "--release", "2.0.0", "--repository", host + "/acme/plugin", host + "/staging/plugin:c"}
	b.ResetTimer()
	for b.Loop() {
		if code := run(context.Background(), args, func(string) string { return "" }, nil, discard{}, discard{}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
