package image

import (
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

func TestOpenRegistryManifestRequests(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	digest := imagetest.Push(t, host+"/acme/plugin:1.0.0", pluginIndex(t, "Index"))
	tests := []struct {
		name string
		ref  string
		want []string
	}{
		{name: "by tag: HEAD, then GET by digest", ref: host + "/acme/plugin:1.0.0", want: []string{
			"HEAD /v2/acme/plugin/manifests/1.0.0",
			"GET /v2/acme/plugin/manifests/" + digest.String(),
		}},
		{name: "by digest: no HEAD", ref: host + "/acme/plugin@" + digest.String(), want: []string{
			"GET /v2/acme/plugin/manifests/" + digest.String(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &imagetest.Recorder{}
			img := openSource(t, tt.ref, Options{Transport: rec})
			if img.Digest != digest {
				t.Errorf("Open(%q).Digest = %s, want %s", tt.ref, img.Digest, digest)
			}
			var got []string
			for _, r := range rec.Requests() {
				if strings.Contains(r, "/manifests/") {
					got = append(got, r)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Open(%q) manifest requests mismatch (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}
