package checks

import (
	"context"
	"testing"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cutReleases is a repository whose tag listing stopped at a bound.
type cutReleases struct{ tags []string }

func (r cutReleases) Tags(context.Context) ([]string, error) {
	return r.tags, &image.TagLimitError{Repository: "registry.example/acme/p", Limit: image.TagLimitPages, Max: 1000, Tags: len(r.tags)}
}

func (r cutReleases) Digest(context.Context, string) (v1.Hash, bool, error) {
	return v1.Hash{}, false, nil
}

func (r cutReleases) Labels(context.Context, string) (map[string]string, v1.Hash, error) {
	return imagetest.PluginLabels(), v1.Hash{}, nil
}

// TestTagListCutShort: a listing stopped at a bound is not an error: the
// tags read are compared, and a warning says that the rest were not.
func TestTagListCutShort(t *testing.T) {
	t.Parallel()
	idx := twoPlatforms(t, imagetest.PluginLabels(), imagetest.PluginLabels(), imagetest.PluginMetadata)
	got := runRules(t, idx, Options{Release: "1.0.0", Repository: "registry.example/acme/p", Releases: cutReleases{tags: []string{"2.0.0"}}}, versionMonotonic)
	want := []Finding{
		{Rule: "version/monotonic", Severity: Error, Message: "no Docker Desktop would ever install 1.0.0: 2.0.0 is higher and Desktop offers the highest version (with no --desktop-api-version named, the plugin API label is not compared); release a version above 2.0.0"},
		{Rule: "version/monotonic", Severity: Warning, Message: "listing the tags of registry.example/acme/p stopped after 1 tags: above the limit of 1000 pages; releases beyond it were not compared with this one"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Run() mismatch (-want +got):\n%s", diff)
	}
}
