package cli

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// plugin builds a passing extension image whose API label is api.
func pluginWithAPI(t testing.TB, api, marker string) v1.ImageIndex {
	t.Helper()
	labels := imagetest.ExtensionLabels()
	labels["com.docker.desktop.extension.api.version"] = api
	labels["org.opencontainers.image.revision"] = marker // makes each release a distinct image
	return imagetest.Plugin(t, labels, imagetest.PluginMetadata, 512)
}

type release struct {
	tag, api string
}

// history pushes releases to repo and returns the digest of each tag.
func history(t *testing.T, host, repo string, rels ...release) map[string]v1.Hash {
	t.Helper()
	out := map[string]v1.Hash{}
	for _, r := range rels {
		out[r.tag] = imagetest.Push(t, host+"/"+repo+":"+r.tag, pluginWithAPI(t, r.api, r.tag))
	}
	return out
}

type impactRow struct {
	DesktopAPIVersion string `json:"desktop_api_version"`
	Before            string `json:"before"`
	After             string `json:"after"`
	Note              string `json:"note"`
}

type versionReport struct {
	jsonReport
	Impact []impactRow `json:"impact"`
}

func runVersion(t *testing.T, args ...string) (int, versionReport, string) {
	t.Helper()
	r := runCLI(t, "", append([]string{"--format", "json"}, args...)...)
	if r.code == 2 {
		t.Fatalf("exit 2: %s", r.stderr)
	}
	var rep versionReport
	rep.jsonReport = decode(t, r.stdout)
	if err := jsonUnmarshal(r.stdout, &rep); err != nil {
		t.Fatal(err)
	}
	return r.code, rep, r.stdout
}

// findings returns "rule severity" strings of version and api findings.
func (r versionReport) versionFindings() []string {
	var out []string
	for _, f := range r.Findings {
		if strings.HasPrefix(f.Rule, "version/") || strings.HasPrefix(f.Rule, "api/") {
			out = append(out, f.Rule+" "+f.Severity)
		}
	}
	slices.Sort(out)
	return out
}

func TestVersionRules(t *testing.T) {
	t.Parallel()
	targets := []string{"--desktop-api-version", "0.2.0", "--desktop-api-version", "0.3.0", "--desktop-api-version", "0.3.4"}
	for _, tc := range []struct {
		name     string
		existing []release
		// candidate is pushed under a staging repository and checked
		// against the release repository with --release.
		version, api string
		extra        []string
		want         []string
		// impact is "api:before->after" for each target.
		impact []string
	}{
		{
			name: "first release", version: "1.0.0", api: ">= 0.3.0",
			impact: []string{"0.2.0:unchanged", "0.3.0:->1.0.0", "0.3.4:->1.0.0"},
		},
		{
			name:     "normal upgrade",
			existing: []release{{"1.0.0", ">= 0.3.0"}},
			version:  "1.1.0", api: ">= 0.3.0",
			impact: []string{"0.2.0:unchanged", "0.3.0:1.0.0->1.1.0", "0.3.4:1.0.0->1.1.0"},
		},
		{
			name:     "below the highest with the same API",
			existing: []release{{"1.0.0", ">= 0.3.0"}, {"1.2.0", ">= 0.3.0"}},
			version:  "1.1.0", api: ">= 0.3.0",
			want:   []string{"version/monotonic error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:1.2.0->1.2.0", "0.3.4:1.2.0->1.2.0"},
		},
		{
			name:     "backport for older Desktops",
			existing: []release{{"1.0.0", ">= 0.2.0"}, {"2.0.0", ">= 0.3.4"}},
			version:  "1.1.0", api: ">= 0.2.0",
			want:   []string{"version/monotonic notice"},
			impact: []string{"0.2.0:1.0.0->1.1.0", "0.3.0:1.0.0->1.1.0", "0.3.4:2.0.0->2.0.0"},
		},
		{
			name:     "prerelease before its release",
			existing: []release{{"1.2.0", ">= 0.3.0"}, {"1.3.0-rc.1", ">= 0.3.0"}},
			version:  "1.3.0", api: ">= 0.3.0",
			impact: []string{"0.2.0:unchanged", "0.3.0:1.3.0-rc.1->1.3.0", "0.3.4:1.3.0-rc.1->1.3.0"},
		},
		{
			name:     "prerelease after its release",
			existing: []release{{"1.3.0", ">= 0.3.0"}},
			version:  "1.3.0-rc.1", api: ">= 0.3.0",
			want:   []string{"version/monotonic error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:1.3.0->1.3.0", "0.3.4:1.3.0->1.3.0"},
		},
		{
			name:     "junk tags and a lenient v",
			existing: []release{{"latest", ">= 0.3.0"}, {"sha-abc123", ">= 0.3.0"}, {"main", ">= 0.3.0"}, {"v2.0.0", ">= 0.3.0"}},
			version:  "1.5.0", api: ">= 0.3.0",
			want:   []string{"version/latest warning", "version/monotonic error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:v2.0.0->v2.0.0", "0.3.4:v2.0.0->v2.0.0"},
		},
		{
			name: "not semver", version: "v1.2.3", api: ">= 0.3.0",
			want: []string{"version/semver error"},
		},
		{
			name: "bare API version", version: "1.0.0", api: "0.3.4",
			want:   []string{"api/bare warning", "api/compatible error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:unchanged", "0.3.4:->1.0.0"},
		},
		{
			name: "API range", version: "1.0.0", api: ">= 0.2.3, < 0.3.1",
			want:   []string{"api/compatible error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:->1.0.0", "0.3.4:unchanged"},
		},
		{
			name: "API garbage", version: "1.0.0", api: "latest please",
			want:   []string{"api/version error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:unchanged", "0.3.4:unchanged"},
		},
		{
			name: "nothing fits", version: "1.0.0", api: ">= 9.0.0",
			want:   []string{"api/compatible error"},
			impact: []string{"0.2.0:unchanged", "0.3.0:unchanged", "0.3.4:unchanged"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := imagetest.Registry(t)
			history(t, host, "acme/plugin", tc.existing...)
			candidate := host + "/staging/plugin:candidate"
			imagetest.Push(t, candidate, pluginWithAPI(t, tc.api, "candidate"))
			args := append([]string{"--release", tc.version, "--repository", host + "/acme/plugin"}, targets...)
			_, rep, out := runVersion(t, append(args, candidate)...)
			if got := rep.versionFindings(); !slices.Equal(got, tc.want) {
				t.Errorf("findings = %v, want %v\n%s", got, tc.want, out)
			}
			var impact []string
			for _, im := range rep.Impact {
				s := im.DesktopAPIVersion + ":" + im.Before + "->" + im.After
				if strings.HasPrefix(im.Note, "unchanged") {
					s = im.DesktopAPIVersion + ":unchanged"
				}
				impact = append(impact, s)
			}
			if tc.impact != nil && !slices.Equal(impact, tc.impact) {
				t.Errorf("impact = %v, want %v", impact, tc.impact)
			}
		})
	}
}

// apiFinding is the api/* finding of a report as "rule severity: message".
func (r versionReport) apiFindings() []string {
	var out []string
	for _, f := range r.Findings {
		if strings.HasPrefix(f.Rule, "api/") {
			out = append(out, f.Rule+" "+f.Severity+": "+f.Message)
		}
	}
	slices.Sort(out)
	return out
}

// TestAPIAgainstTodaysDesktop: under the extension profile the newest known
// Desktop API (0.4.2) must accept the label, whatever targets are named;
// under the plugin profile the label is compared only with named targets.
func TestAPIAgainstTodaysDesktop(t *testing.T) {
	t.Parallel()
	const label = "com.docker.desktop.extension.api.version"
	const pluginLabel = "com.docker.desktop.plugin.api.version"
	for _, tc := range []struct {
		name, api string
		plugin    bool
		args      []string
		want      []string
		impact    int
	}{
		{name: "open range", api: ">= 0.3.3", impact: 6},
		{name: "current API", api: ">= 0.4.2", impact: 6},
		{name: "bare current API", api: "0.4.2", impact: 6, want: []string{
			`api/bare warning: label ` + label + ` = "0.4.2" matches only Desktop API 0.4.2 exactly: Desktop 4.42 and later (API 0.4.2) get it, Desktop 4.8 to 4.41 (API 0.2.3, 0.3.0, 0.3.2, 0.3.3, 0.3.4) do not; ">= 0.4.2" is almost always meant`,
		}},
		{name: "bare 0.3.4 as docker extension init wrote", api: "0.3.4", impact: 6, want: []string{
			`api/bare warning: label ` + label + ` = "0.3.4" matches only Desktop API 0.3.4 exactly: Desktop 4.17 to 4.41 (API 0.3.4) get it, Desktop 4.8 to 4.16 (API 0.2.3, 0.3.0, 0.3.2, 0.3.3) and Desktop 4.42 and later (API 0.4.2) do not; ">= 0.3.4" is almost always meant`,
			`api/compatible error: label ` + label + ` = "0.3.4" does not accept extension API 0.4.2, which every current Docker Desktop has, and the marketplace validator checks against it: Desktop 4.17 to 4.41 (API 0.3.4) get it, Desktop 4.8 to 4.16 (API 0.2.3, 0.3.0, 0.3.2, 0.3.3) and Desktop 4.42 and later (API 0.4.2) do not; write ">= 0.3.4"`,
		}},
		{name: "range capped below the current API", api: ">= 0.2.3, < 0.4.0", impact: 6, want: []string{
			`api/compatible error: label ` + label + ` = ">= 0.2.3, < 0.4.0" does not accept extension API 0.4.2, which every current Docker Desktop has, and the marketplace validator checks against it: Desktop 4.8 to 4.41 (API 0.2.3, 0.3.0, 0.3.2, 0.3.3, 0.3.4) get it, Desktop 4.42 and later (API 0.4.2) do not; write ">= 0.2.3"`,
		}},
		{name: "capped even with old targets named", api: "< 0.4.0", args: []string{"--desktop-api-version", "0.3.4"}, impact: 1, want: []string{
			`api/compatible error: label ` + label + ` = "< 0.4.0" does not accept extension API 0.4.2, which every current Docker Desktop has, and the marketplace validator checks against it: Desktop 4.8 to 4.41 (API 0.2.3, 0.3.0, 0.3.2, 0.3.3, 0.3.4) get it, Desktop 4.42 and later (API 0.4.2) do not; write ">= 0.4.2"`,
		}},
		{name: "above every Desktop", api: ">= 1.0.0", impact: 6, want: []string{
			`api/compatible error: label ` + label + ` = ">= 1.0.0" does not accept extension API 0.4.2, which every current Docker Desktop has, and the marketplace validator checks against it: no known Docker Desktop gets it; write ">= 0.4.2"`,
		}},
		{name: "named target refused", api: ">= 0.3.3", args: []string{"--desktop-api-version", "0.3.0"}, impact: 1, want: []string{
			`api/compatible error: no target Docker Desktop accepts ` + label + ` = ">= 0.3.3" (targets: Desktop API 0.3.0); to reach them, write e.g. ">= 0.3.0"`,
		}},
		{name: "plugin era beta label", plugin: true, api: "1.0.0-beta.1"},
		{name: "plugin era constraint", plugin: true, api: ">= 0.2.0"},
		{name: "plugin era garbage", plugin: true, api: "beta", want: []string{
			`api/version error: label ` + pluginLabel + ` = "beta" is neither a semver version nor a version constraint (improper constraint: "beta"); write e.g. ">= 0.3.3"`,
		}},
		{name: "plugin era with named targets", plugin: true, api: "1.0.0-beta.1", args: []string{"--desktop-api-version", "1.0.0-beta.2"}, impact: 1, want: []string{
			`api/bare warning: label ` + pluginLabel + ` = "1.0.0-beta.1" matches only Desktop API 1.0.0-beta.1 exactly: no target gets it; ">= 1.0.0-beta.1" is almost always meant`,
			`api/compatible error: no target Docker Desktop accepts ` + pluginLabel + ` = "1.0.0-beta.1" (targets: Desktop API 1.0.0-beta.2); to reach them, write e.g. ">= 1.0.0-beta.2"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := imagetest.Registry(t)
			labels := imagetest.ExtensionLabels()
			labels[label] = tc.api
			if tc.plugin {
				labels = imagetest.PluginLabels()
				labels[pluginLabel] = tc.api
			}
			imagetest.Push(t, host+"/acme/plugin:1.0.0", imagetest.Plugin(t, labels, imagetest.PluginMetadata, 512))
			_, rep, out := runVersion(t, append(tc.args, host+"/acme/plugin:1.0.0")...)
			if diff := cmp.Diff(tc.want, rep.apiFindings()); diff != "" {
				t.Errorf("api findings mismatch (-want +got):\n%s\n%s", diff, out)
			}
			if len(rep.Impact) != tc.impact {
				t.Errorf("impact has %d rows, want %d (one per target)", len(rep.Impact), tc.impact)
			}
		})
	}
}

// TestPluginProfileMonotonicWithoutTargets: with no targets named, a
// plugin-era release below an existing one is never installed.
func TestPluginProfileMonotonicWithoutTargets(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.PluginLabels()
	labels["com.docker.desktop.plugin.api.version"] = "1.0.0-beta.1"
	imagetest.Push(t, host+"/acme/plugin:2.0.0", imagetest.Plugin(t, labels, imagetest.PluginMetadata, 256))
	labels["org.opencontainers.image.revision"] = "old"
	imagetest.Push(t, host+"/staging/plugin:c", imagetest.Plugin(t, labels, imagetest.PluginMetadata, 256))
	code, rep, out := runVersion(t, "--release", "1.5.0", "--repository", host+"/acme/plugin", host+"/staging/plugin:c")
	if got := rep.versionFindings(); code != 1 || !slices.Equal(got, []string{"version/monotonic error"}) {
		t.Errorf("exit %d, findings %v, want exit 1 and a version/monotonic error\n%s", code, got, out)
	}
}

func TestVersionExists(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	digests := history(t, host, "acme/plugin", release{"1.0.0", ">= 0.3.0"})
	_ = digests
	// Re-checking the pushed tag (same digest) passes.
	code, rep, out := runVersion(t, host+"/acme/plugin:1.0.0")
	if code != 0 || len(rep.versionFindings()) != 0 {
		t.Errorf("re-check of a pushed tag: exit %d, findings %v\n%s", code, rep.versionFindings(), out)
	}
	// Another image checked as 1.0.0 would rewrite the release.
	imagetest.Push(t, host+"/staging/plugin:new", pluginWithAPI(t, ">= 0.3.0", "other"))
	code, rep, _ = runVersion(t, "--release", "1.0.0", "--repository", host+"/acme/plugin", host+"/staging/plugin:new")
	if code != 1 || !slices.Contains(rep.versionFindings(), "version/exists error") {
		t.Errorf("tag taken by another digest: exit %d, findings %v", code, rep.versionFindings())
	}
}

func TestVersionLatestPointsAtHighest(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	d := history(t, host, "acme/plugin", release{"1.0.0", ">= 0.3.0"}, release{"1.1.0", ">= 0.3.0"})
	// latest -> 1.1.0: fine for a re-check of 1.1.0.
	idx := pluginWithAPI(t, ">= 0.3.0", "1.1.0")
	imagetest.Push(t, host+"/acme/plugin:latest", idx)
	if got := imagetest.Push(t, host+"/acme/plugin:1.1.0", idx); got != d["1.1.0"] {
		t.Fatalf("test setup: 1.1.0 is %s, want %s", got, d["1.1.0"])
	}
	code, rep, out := runVersion(t, host+"/acme/plugin:1.1.0")
	if code != 0 || len(rep.versionFindings()) != 0 {
		t.Errorf("latest at the highest: exit %d findings %v\n%s", code, rep.versionFindings(), out)
	}
	// Releasing 1.2.0 while latest stays at 1.1.0: a warning.
	imagetest.Push(t, host+"/staging/plugin:c", pluginWithAPI(t, ">= 0.3.0", "1.2.0"))
	_, rep, _ = runVersion(t, "--release", "1.2.0", "--repository", host+"/acme/plugin", host+"/staging/plugin:c")
	if !slices.Contains(rep.versionFindings(), "version/latest warning") {
		t.Errorf("findings %v, want a version/latest warning", rep.versionFindings())
	}
}

// TestVersionReadsOnlyWhatCanChangeTheAnswer: with 30 earlier releases that
// all accept every target, only the highest one's labels are read.
func TestVersionReadsOnlyWhatCanChangeTheAnswer(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	var rels []release
	for i := range 30 {
		rels = append(rels, release{fmt.Sprintf("1.%d.0", i), ">= 0.2.0"})
	}
	history(t, host, "acme/plugin", rels...)
	imagetest.Push(t, host+"/staging/plugin:c", pluginWithAPI(t, ">= 0.2.0", "c"))
	_, rep, _ := runVersion(t, "--release", "2.0.0", "--repository", host+"/acme/plugin", "--desktop-api-version", "0.3.4", host+"/staging/plugin:c")
	// HEAD+GET index, 2 manifests, 2 configs, metadata layers, tag list,
	// HEADs of 2.0.0, and one earlier release (index, manifest, config).
	if rep.Stats.Requests > 20 {
		t.Errorf("%d requests: earlier releases that cannot change the answer were read", rep.Stats.Requests)
	}
	if len(rep.Impact) != 1 || rep.Impact[0].Before != "1.29.0" || rep.Impact[0].After != "2.0.0" {
		t.Errorf("impact = %+v, want 1.29.0 -> 2.0.0", rep.Impact)
	}
}
