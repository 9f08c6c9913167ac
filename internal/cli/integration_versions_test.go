package cli

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestIntegrationReleaseHistory lists tags and reads earlier releases'
// labels on the real registry servers (distribution v3 pages tag lists with
// Link headers; 2.8 answers in one page), with authentication.
func TestIntegrationReleaseHistory(t *testing.T) {
	t.Parallel()
	for _, srv := range integServers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			host := srv.start(t, integUser, integPassword)
			repo := host + "/" + integRepo
			for _, r := range []release{{"1.0.0", ">= 0.2.0"}, {"2.0.0", ">= 0.3.4"}, {"latest", ">= 0.3.4"}, {"sha-abc123", ">= 0.3.4"}} {
				integPush(t, repo+":"+r.tag, pluginWithAPI(t, r.api, r.tag))
			}
			// 1.1.0 is a backport: only Desktops with API 0.2.x-0.3.3 get it.
			integPush(t, host+"/acme/staging:c", pluginWithAPI(t, ">= 0.2.0", "c"))
			r := integExec(t, integEnv(t, ""), integPassword+"\n", "--username", integUser, "--password-stdin", "--format", "json",
				"--release", "1.1.0", "--repository", repo,
				"--desktop-api-version", "0.2.3", "--desktop-api-version", "0.3.4", host+"/acme/staging:c")
			if r.code == 2 {
				t.Fatalf("exit 2: %s", r.stderr)
			}
			var rep versionReport
			if err := jsonUnmarshal(r.stdout, &rep); err != nil {
				t.Fatal(err)
			}
			var impact []string
			for _, im := range rep.Impact {
				impact = append(impact, fmt.Sprintf("%s:%s->%s", im.DesktopAPIVersion, im.Before, im.After))
			}
			if want := []string{"0.2.3:1.0.0->1.1.0", "0.3.4:2.0.0->2.0.0"}; !slices.Equal(impact, want) {
				t.Errorf("impact = %v, want %v", impact, want)
			}
			var rules []string
			for _, f := range rep.Findings {
				if strings.HasPrefix(f.Rule, "version/") {
					rules = append(rules, f.Rule+" "+f.Severity)
				}
			}
			// latest is an image of its own, not 2.0.0's: version/latest
			// warns; 1.1.0 is a backport notice.
			if want := []string{"version/latest warning", "version/monotonic notice"}; !slices.Equal(rules, want) {
				t.Errorf("version findings = %v, want %v", rules, want)
			}
		})
	}
}
