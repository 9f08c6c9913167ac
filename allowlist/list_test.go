package allowlist

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "plain", in: "acme/plugin", want: "acme/plugin"},
		{name: "docker.io prefix and case", in: "docker.io/Acme/My-Plugin", want: "acme/my-plugin"},
		{name: "index.docker.io prefix", in: " index.docker.io/acme/plugin.x ", want: "acme/plugin.x"},
		{name: "separators", in: "my_org/a.b-c_d", want: "my_org/a.b-c_d"},
		{name: "no namespace", in: "plugin", wantErr: "not a Docker Hub repository"},
		{name: "tag", in: "acme/plugin:1.0", wantErr: "not a Docker Hub repository"},
		{name: "other registry", in: "ghcr.io/acme/plugin", wantErr: "not a Docker Hub repository"},
		{name: "double separator", in: "acme/plug--in", wantErr: "not a Docker Hub repository"},
		{name: "marker breaker", in: "acme/plugin -->", wantErr: "not a Docker Hub repository"},
		{name: "newline", in: "acme/plugin\nx", wantErr: "not a Docker Hub repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseRepository(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseRepository(%q) = %q, %v, want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseRepository(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, in string
		want           []string
		wantErr        string
	}{
		{name: "yaml", file: "allowlist.yaml", in: yamlList, want: []string{"docker/disk-usage-extension", "portainer/portainer-docker-extension", "acme/other"}},
		{name: "json", file: "allowlist.json", in: jsonList, want: []string{"docker/disk-usage-extension", "acme/other"}},
		{name: "json sniffed", file: "allowlist", in: `[{"repository":"Docker.io/A/B"}]`, want: []string{"a/b"}},
		{name: "yaml normalised", file: "allowlist.yml", in: "- repository: index.docker.io/ACME/x\n", want: []string{"acme/x"}},
		{name: "empty", file: "allowlist.yaml", in: "", want: nil},
		{name: "comments only", file: "allowlist.yaml", in: "# nothing yet\n", want: nil},
		{name: "empty flow list", file: "allowlist.yaml", in: "[]\n", want: nil},
		{name: "mapping", file: "allowlist.yaml", in: "plugins:\n- repository: a/b\n", wantErr: "line 1: want a list of {repository: NAMESPACE/NAME}"},
		{name: "string entries", file: "allowlist.yaml", in: "- a/b\n", wantErr: "line 1: an entry needs repository"},
		{name: "two documents", file: "allowlist.yaml", in: "- repository: a/b\n---\n- repository: c/d\n", wantErr: "want one YAML document"},
		{name: "bad yaml", file: "allowlist.yaml", in: "- repository: [\n", wantErr: "reading allowlist.yaml"},
		{name: "json object", file: "allowlist.json", in: `{"repository":"a/b"}`, wantErr: "want a JSON list"},
		{name: "json entry without repository", file: "allowlist.json", in: `[{"repository":"a/b"},{"name":"c/d"}]`, wantErr: "entry 2 has no \"repository\" string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseList(tt.file, []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseList() = %q, %v, want error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseList() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseList() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddEntry(t *testing.T) {
	t.Parallel()
	const repo = "acme/plugin"
	tests := []struct {
		name, file, in, want string
	}{
		{name: "yaml keeps comments and quoting", file: "allowlist.yaml", in: yamlList, want: yamlList + "- repository: acme/plugin\n"},
		{name: "yaml without final newline", file: "allowlist.yaml", in: "- repository: a/b # last", want: "- repository: a/b # last\n- repository: acme/plugin\n"},
		{name: "yaml indented list", file: "allowlist.yaml", in: "  -   repository: a/b\n      note: x\n", want: "  -   repository: a/b\n      note: x\n  -   repository: acme/plugin\n"},
		{name: "yaml CRLF", file: "allowlist.yaml", in: "# list\r\n- repository: a/b\r\n", want: "# list\r\n- repository: a/b\r\n- repository: acme/plugin\r\n"},
		{name: "yaml empty file", file: "allowlist.yaml", in: "", want: "- repository: acme/plugin\n"},
		{name: "yaml comments only", file: "allowlist.yaml", in: "# The allow-list.\n", want: "# The allow-list.\n- repository: acme/plugin\n"},
		{name: "yaml empty flow list", file: "allowlist.yaml", in: "# The allow-list.\n[]\n", want: "# The allow-list.\n- repository: acme/plugin\n"},
		{name: "yaml flow list", file: "allowlist.yaml", in: "[{repository: a/b}]\n", want: "- {repository: a/b}\n- repository: acme/plugin\n"},
		{name: "yaml dash on its own line", file: "allowlist.yaml", in: "-\n  repository: a/b\n", want: "- repository: a/b\n- repository: acme/plugin\n"},
		{name: "json pretty", file: "allowlist.json", in: jsonList, want: strings.Replace(jsonList, "  }\n]", "  },\n  {\n    \"repository\": \"acme/plugin\"\n  }\n]", 1)},
		{name: "json one entry a line", file: "allowlist.json", in: "[\n    {\"repository\":\"a/b\"}\n]\n", want: "[\n    {\"repository\":\"a/b\"},\n    {\"repository\":\"acme/plugin\"}\n]\n"},
		{name: "json compact", file: "allowlist.json", in: `[{"repository": "a/b"}]`, want: `[{"repository": "a/b"}, {"repository": "acme/plugin"}]`},
		{name: "json empty", file: "allowlist.json", in: "[]\n", want: "[\n  {\"repository\": \"acme/plugin\"}\n]\n"},
		{name: "json empty file", file: "allowlist.json", in: "", want: "[\n  {\"repository\": \"acme/plugin\"}\n]\n"},
		{name: "json sniffed in a file without extension", file: "allowlist", in: "[\n  {\"repository\": \"a/b\"}\n]", want: "[\n  {\"repository\": \"a/b\"},\n  {\"repository\": \"acme/plugin\"}\n]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := addEntry(tt.file, []byte(tt.in), repo)
			if err != nil {
				t.Fatalf("addEntry() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("addEntry() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "minimal", cfg: Config{AllowlistRepo: "docker/desktop-allowlist"}},
		{name: "all", cfg: Config{AllowlistRepo: "Docker-Org/allow.list_1", File: "data/allow-list.json", Mode: ModePullRequest}},
		{name: "no repository", cfg: Config{}, wantErr: "is not a GitHub repository OWNER/NAME"},
		{name: "three parts", cfg: Config{AllowlistRepo: "a/b/c"}, wantErr: "is not a GitHub repository OWNER/NAME"},
		{name: "dot dot", cfg: Config{AllowlistRepo: "a/.."}, wantErr: "is not a GitHub repository OWNER/NAME"},
		{name: "absolute file", cfg: Config{AllowlistRepo: "a/b", File: "/allowlist.yaml"}, wantErr: "is not a relative path"},
		{name: "file with query", cfg: Config{AllowlistRepo: "a/b", File: "allowlist.yaml?ref=x"}, wantErr: "is not a relative path"},
		{name: "hidden parent", cfg: Config{AllowlistRepo: "a/b", File: "x/../../y"}, wantErr: "is not a relative path"},
		{name: "mode", cfg: Config{AllowlistRepo: "a/b", Mode: "PR"}, wantErr: "is not issue or pull-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want error with %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzAddEntry: whatever the allow-list file holds, addEntry either fails
// or returns a file that lists the old entries and then the new one.
func FuzzAddEntry(f *testing.F) {
	for _, s := range []string{yamlList, jsonList, "", "[]", "- repository: a/b # c", "-\n  repository: a/b\n", "[{repository: a/b}]", "...\n"} {
		f.Add("allowlist.yaml", s)
		f.Add("allowlist.json", s)
	}
	f.Fuzz(func(t *testing.T, file, in string) {
		if !filePattern.MatchString(file) || len(in) > 4096 {
			return
		}
		old, err := parseList(file, []byte(in))
		if err != nil {
			return
		}
		out, err := addEntry(file, []byte(in), "acme/plugin")
		if err != nil {
			return
		}
		got, err := parseList(file, out)
		if err != nil {
			t.Fatalf("addEntry() result does not parse: %v\n%s", err, out)
		}
		if diff := cmp.Diff(append(old, "acme/plugin"), got); diff != "" {
			t.Errorf("addEntry() entries mismatch (-want +got):\n%s", diff)
		}
	})
}
