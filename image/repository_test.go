package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// authLog records the Authorization headers a registry receives.
type authLog struct {
	mu   sync.Mutex
	on   bool
	seen map[string]bool
}

func (l *authLog) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		if l.on {
			l.seen[r.Header.Get("Authorization")] = true
		}
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *authLog) start() {
	l.mu.Lock()
	l.on = true
	l.mu.Unlock()
}

// headers returns the distinct Authorization headers seen, sorted.
func (l *authLog) headers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for h := range l.seen {
		if h != "" {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// registryKeychain answers for one registry only.
type registryKeychain struct {
	registry string
	auth     authn.Authenticator
}

func (k registryKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

func TestReleasesCredentials(t *testing.T) {
	t.Parallel()
	explicit := &authn.Basic{Username: "image-user", Password: "image-secret"}
	fromKeychain := &authn.Basic{Username: "keychain-user", Password: "keychain-secret"}
	tests := []struct {
		name string
		// imageOnB opens the image on registry B, where the releases are;
		// else on registry A.
		imageOnB bool
		keychain bool
		// want are the Authorization headers registry B receives (the
		// anonymous ping aside).
		want []string
	}{
		{name: "other registry gets no explicit credentials"},
		{name: "other registry gets keychain credentials", keychain: true,
			want: []string{basicHeader("keychain-user", "keychain-secret")}},
		{name: "same registry shares explicit credentials", imageOnB: true,
			want: []string{basicHeader("image-user", "image-secret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a := imagetest.Registry(t)
			log := &authLog{seen: map[string]bool{}}
			b := imagetest.RegistryWith(t, log.middleware)
			imagetest.Push(t, a+"/acme/plugin:2.0.0", pluginIndex(t, "A"))
			imagetest.Push(t, b+"/acme/plugin:2.0.0", pluginIndex(t, "B"))
			imagetest.Push(t, b+"/acme/plugin:1.0.0", pluginIndex(t, "B 1"))
			log.start()

			opts := Options{Auth: explicit}
			if tt.keychain {
				opts.Keychain = registryKeychain{registry: b, auth: fromKeychain}
			}
			host := a
			if tt.imageOnB {
				host = b
			}
			img := openSource(t, host+"/acme/plugin:2.0.0", opts)
			repo, err := img.Releases(ctx, b+"/acme/plugin", opts)
			if err != nil {
				t.Fatalf("Releases: %v", err)
			}
			tags, err := repo.Tags(ctx)
			if err != nil {
				t.Fatalf("Tags: %v", err)
			}
			if diff := cmp.Diff([]string{"1.0.0", "2.0.0"}, tags); diff != "" {
				t.Errorf("Tags() mismatch (-want +got):\n%s", diff)
			}
			if _, ok, err := repo.Digest(ctx, "1.0.0"); err != nil || !ok {
				t.Fatalf("Digest(1.0.0) = %v, %v", ok, err)
			}
			labels, _, err := repo.Labels(ctx, "1.0.0")
			if err != nil {
				t.Fatalf("Labels(1.0.0): %v", err)
			}
			if got := labels["org.opencontainers.image.title"]; got != "B 1" {
				t.Errorf("Labels(1.0.0) title = %q, want %q", got, "B 1")
			}
			if diff := cmp.Diff(tt.want, log.headers()); diff != "" {
				t.Errorf("Authorization headers on registry B mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// manifestJSON marshals a manifest or index.
func manifestJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRepositoryLabelsBounded(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	img := pluginImage(t, "amd64", "Release")
	imgDigest := imagetest.Push(t, host+"/acme/plugin:good", img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	imgRaw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	imgDesc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: imgDigest, Size: int64(len(imgRaw)),
		Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}

	// An index whose platform manifest claims to be larger than the limit.
	bigEntry := imgDesc
	bigEntry.Size = maxManifestSize + 1
	imagetest.PutManifest(t, host+"/acme/plugin:big-platform-manifest", imagetest.RawManifest{Type: types.OCIImageIndex,
		Bytes: manifestJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{bigEntry}})})
	// A manifest whose config claims to be larger than the limit.
	bigConfig := *m
	bigConfig.Config.Size = maxManifestSize + 1
	imagetest.PutManifest(t, host+"/acme/plugin:big-config", imagetest.RawManifest{Type: types.OCIManifestSchema1,
		Bytes: manifestJSON(t, bigConfig)})
	// A manifest that is itself larger than the limit.
	huge := *m
	huge.Annotations = map[string]string{"padding": strings.Repeat("x", maxManifestSize)}
	imagetest.PutManifest(t, host+"/acme/plugin:huge-manifest", imagetest.RawManifest{Type: types.OCIManifestSchema1,
		Bytes: manifestJSON(t, huge)})
	goodIndex := imagetest.PutManifest(t, host+"/acme/plugin:good-index", imagetest.RawManifest{Type: types.OCIImageIndex,
		Bytes: manifestJSON(t, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{imgDesc}})})
	cfgDigest, _, err := v1.SHA256(strings.NewReader(string(cfgRaw)))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, tag string
		wantTitle string
		wantErr   string
		// neverGet are paths that must not be fetched.
		neverGet []string
	}{
		{name: "image", tag: "good", wantTitle: "Release"},
		{name: "index", tag: "good-index", wantTitle: "Release"},
		{name: "platform manifest above the limit", tag: "big-platform-manifest", wantErr: "byte limit",
			neverGet: []string{"/v2/acme/plugin/manifests/" + imgDigest.String()}},
		{name: "config above the limit", tag: "big-config", wantErr: "byte limit",
			neverGet: []string{"/v2/acme/plugin/blobs/" + cfgDigest.String()}},
		{name: "manifest above the limit", tag: "huge-manifest", wantErr: "byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &imagetest.Recorder{}
			repo, err := OpenRepository(context.Background(), host+"/acme/plugin", Options{Transport: rec}, &Stats{})
			if err != nil {
				t.Fatal(err)
			}
			labels, digest, err := repo.Labels(context.Background(), tt.tag)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Labels(%s) error = %v, want one mentioning %q", tt.tag, err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Labels(%s): %v", tt.tag, err)
			} else if got := labels["org.opencontainers.image.title"]; got != tt.wantTitle {
				t.Errorf("Labels(%s) title = %q, want %q", tt.tag, got, tt.wantTitle)
			}
			if tt.tag == "good-index" && digest != goodIndex {
				t.Errorf("Labels(%s) digest = %s, want %s", tt.tag, digest, goodIndex)
			}
			for _, p := range tt.neverGet {
				if n := rec.Count(http.MethodGet, p); n != 0 {
					t.Errorf("Labels(%s) sent GET %s %d times, want none", tt.tag, p, n)
				}
			}
		})
	}
}
