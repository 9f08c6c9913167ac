package checks

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/docker/desktop-plugin-check/source"
	"github.com/google/go-cmp/cmp"
)

// lintFor reads dockerfile as the lint does for linux/amd64 and
// linux/arm64, with the build context and metadata.json given.
func lintFor(t *testing.T, dockerfile string, opts source.DockerfileOptions, context fstest.MapFS, metadata string) *Lint {
	t.Helper()
	l := &Lint{DockerfilePath: "Dockerfile", Context: context, MetadataPath: "metadata.json"}
	if metadata != "" {
		l.Metadata = []byte(metadata)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		opts.Platform = p
		df, err := source.ParseDockerfile(strings.NewReader(dockerfile), opts)
		var serr *source.Error
		if errors.As(err, &serr) {
			l.Err, l.Builds = serr, nil
			return l
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Builds = append(l.Builds, LintBuild{Platform: p, Dockerfile: df})
	}
	return l
}

// runLint runs rule on a two-platform image with the labels given, l
// attached as the lint.
func runLint(t *testing.T, l *Lint, labels map[string]string, rule *Rule) []Finding {
	t.Helper()
	idx := twoPlatforms(t, labels, labels, imagetest.PluginMetadata)
	return runRules(t, idx, Options{Lint: l}, rule)
}

// brief is a finding as the tests compare it: severity, place and label.
func brief(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		s := fmt.Sprintf("%s %s:%d:%d", f.Severity, f.File, f.Line, f.Column)
		if f.Label != "" {
			s += " label=" + f.Label
		}
		if f.Pointer != "" {
			s += " at=" + f.Pointer
		}
		if f.Platform != "" {
			s += " platform=" + f.Platform
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestSourceRulesNeedALint(t *testing.T) {
	t.Parallel()
	idx := twoPlatforms(t, imagetest.PluginLabels(), imagetest.PluginLabels(), imagetest.PluginMetadata)
	if fs := runRules(t, idx, Options{}, sourceRules...); len(fs) != 0 {
		t.Errorf("source rules without a lint found %v", fs)
	}
}

func TestSourceDockerfile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile string
		opts             source.DockerfileOptions
		want             []string
		message          string
	}{
		{"parses", "FROM scratch\nLABEL a=b\n", source.DockerfileOptions{}, []string{}, ""},
		{"a description line without a continuation", "FROM scratch\nLABEL a=\"one \\\n<li>two</li>\"\n<li>three</li>\n",
			source.DockerfileOptions{}, []string{"error Dockerfile:4:0"}, "unknown instruction"},
		{"a LABEL without =", "FROM scratch\nLABEL a=1 b\n", source.DockerfileOptions{}, []string{"error Dockerfile:2:0"}, "can't find ="},
		{"a target that is no stage", "FROM scratch AS a\n", source.DockerfileOptions{Target: "release"}, []string{"error Dockerfile:1:0"}, `"release"`},
		{"an empty continuation line", "FROM scratch\nLABEL a=1 \\\n\n    b=2\n", source.DockerfileOptions{}, []string{"warning Dockerfile:4:0"}, "Empty continuation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := runLint(t, lintFor(t, tc.dockerfile, tc.opts, nil, ""), nil, sourceDockerfile)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
			if len(fs) > 0 && !strings.Contains(fs[0].Message, tc.message) {
				t.Errorf("message %q lacks %q", fs[0].Message, tc.message)
			}
		})
	}
}

func TestSourceStrayLabel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile string
		opts             source.DockerfileOptions
		want             []string
	}{
		{"multi-stage: set in the builder", "FROM node AS client-builder\nLABEL org.opencontainers.image.title=\"UI\"\nRUN npm ci\nFROM scratch\nCOPY --from=client-builder /ui /ui\n",
			source.DockerfileOptions{}, []string{"warning Dockerfile:2:7 label=org.opencontainers.image.title"}},
		{"a stage's own label is not reported", "FROM node AS build\nLABEL stage=builder\nFROM scratch\n", source.DockerfileOptions{}, []string{}},
		{"inherited through FROM stage", "FROM alpine AS base\nLABEL com.docker.extension.categories=x\nFROM base\n", source.DockerfileOptions{}, []string{}},
		{"also set in the final stage", "FROM alpine AS b\nLABEL org.opencontainers.image.vendor=x\nFROM scratch\nLABEL org.opencontainers.image.vendor=y\n", source.DockerfileOptions{}, []string{}},
		{"--target: the last stage is the stray", "FROM scratch AS release\nLABEL a=1\nFROM scratch AS debug\nLABEL com.docker.desktop.extension.api.version=\">= 0.3.4\"\n",
			source.DockerfileOptions{Target: "release"}, []string{"warning Dockerfile:4:7 label=com.docker.desktop.extension.api.version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := runLint(t, lintFor(t, tc.dockerfile, tc.opts, nil, ""), nil, sourceStrayLabel)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceLabelTwice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile string
		want             []string
	}{
		{"twice with different values", "FROM scratch\nLABEL com.docker.extension.detailed-description=\"short\"\nLABEL a=1\nLABEL com.docker.extension.detailed-description=\"long\"\n",
			[]string{"warning Dockerfile:2:7 label=com.docker.extension.detailed-description"}},
		{"twice in one instruction, continued with a comment", "FROM scratch\nLABEL a=1 \\\n# the vendor\n    b=2 \\\n    a=3\n",
			[]string{"warning Dockerfile:2:7 label=a"}},
		{"the same value again", "FROM scratch\nLABEL a=1\nLABEL a=1\n", []string{}},
		{"over the stage it is built FROM", "FROM scratch AS base\nLABEL a=1\nFROM base\nLABEL a=2\n", []string{}},
		{"three times: two lost", "FROM scratch\nLABEL a=1\nLABEL a=2\nLABEL a=3\n", []string{"warning Dockerfile:2:7 label=a", "warning Dockerfile:3:7 label=a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := runLint(t, lintFor(t, tc.dockerfile, source.DockerfileOptions{}, nil, ""), nil, sourceLabelTwice)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceUnsetArg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile string
		opts             source.DockerfileOptions
		want             []string
		message          string
	}{
		{"an ARG with no default", "FROM scratch\nARG VERSION\nLABEL org.opencontainers.image.version=\"${VERSION}\"\n",
			source.DockerfileOptions{}, []string{"warning Dockerfile:3:7 label=org.opencontainers.image.version"}, "ARG VERSION (line 2)"},
		{"given by --build-arg", "FROM scratch\nARG VERSION\nLABEL org.opencontainers.image.version=\"${VERSION}\"\n",
			source.DockerfileOptions{BuildArgs: map[string]string{"VERSION": "1.2.0"}}, []string{}, ""},
		{"ARG before FROM, not declared again", "ARG VERSION=1.2.0\nFROM scratch\nLABEL com.docker.extension.changelog=\"https://x/v$VERSION\"\n",
			source.DockerfileOptions{}, []string{"warning Dockerfile:3:7 label=com.docker.extension.changelog"}, "global ARG (line 1)"},
		{"ARG before FROM, declared again", "ARG VERSION=1.2.0\nFROM scratch\nARG VERSION\nLABEL com.docker.extension.changelog=\"https://x/v$VERSION\"\n",
			source.DockerfileOptions{}, []string{}, ""},
		{"a default in the reference", "FROM scratch\nARG VERSION\nLABEL a=\"${VERSION:-dev}\"\n", source.DockerfileOptions{}, []string{}, ""},
		{"declared nowhere", "FROM scratch\nLABEL a=\"$NOPE\"\n", source.DockerfileOptions{}, []string{"warning Dockerfile:2:7 label=a"}, "no ARG or ENV"},
		{"an ENV counts", "FROM scratch\nENV V=1\nLABEL a=\"$V\"\n", source.DockerfileOptions{}, []string{}, ""},
		{"escape directive: an escaped $ is no reference", "# escape=`\nFROM scratch\nLABEL a=\"`$NOPE\"\n", source.DockerfileOptions{}, []string{}, ""},
		{"inherited through FROM stage", "FROM scratch AS base\nARG V\nFROM base\nLABEL a=\"$V\"\n",
			source.DockerfileOptions{}, []string{"warning Dockerfile:4:7 label=a"}, "ARG V (line 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := runLint(t, lintFor(t, tc.dockerfile, tc.opts, nil, ""), nil, sourceUnsetArg)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
			if len(fs) > 0 && !strings.Contains(fs[0].Message, tc.message) {
				t.Errorf("message %q lacks %q", fs[0].Message, tc.message)
			}
		})
	}
}

func TestSourceQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile string
		want             []string
	}{
		{"JSON in double quotes", "FROM scratch\nLABEL com.docker.extension.screenshots=\"[{\"alt\": \"Home\", \"url\": \"https://x/a.png\"}]\"\n",
			[]string{"warning Dockerfile:2:43 label=com.docker.extension.screenshots"}},
		{"JSON in single quotes", "FROM scratch\nLABEL com.docker.extension.screenshots='[{\"alt\": \"Home\", \"url\": \"https://x/a.png\"}]'\n", []string{}},
		{"continued over lines", "FROM scratch\nLABEL a=1 \\\n    b=\"<p>one</p> \\\n    <a href=\"https://x\">x</a>\"\n",
			[]string{"warning Dockerfile:4:13 label=b"}},
		{"escape directive, escaped quotes", "# escape=`\nFROM scratch\nLABEL b=\"[{`\"alt`\": 1}]\"\n", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := runLint(t, lintFor(t, tc.dockerfile, source.DockerfileOptions{}, nil, ""), nil, sourceQuote)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceFiles(t *testing.T) {
	t.Parallel()
	ctx := fstest.MapFS{
		"metadata.json": {Data: []byte("{}")}, "docker.svg": {Data: []byte("<svg/>")},
		"ui/index.html": {Data: []byte("<html/>")}, "host/tool.cmd": {Data: []byte("@echo")},
	}
	const meta = `{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}},
 "host": {"binaries": [{"windows": [{"path": "/windows/tool.cmd"}]}]}}`
	for _, tc := range []struct {
		name, dockerfile, metadata string
		want                       []string
	}{
		{"everything copied (FROM scratch)", "FROM scratch\nCOPY metadata.json docker.svg /\nCOPY ui /ui\nCOPY host/tool.cmd /windows/tool.cmd\n", meta, []string{}},
		{"the icon under another name", "FROM scratch\nCOPY metadata.json logo.svg /\nCOPY ui /ui\nCOPY host/tool.cmd /windows/\n", meta,
			[]string{"error :0:0 at=/icon"}},
		{"the UI copied to a typo", "FROM alpine AS build\nRUN make\nFROM scratch\nCOPY metadata.json docker.svg /\nCOPY --from=build /out uide\nCOPY host/tool.cmd /windows/\n", meta,
			[]string{"error :0:0 at=/ui/dashboard-tab/root"}},
		{"a RUN may make the binary", "FROM alpine\nCOPY metadata.json docker.svg /\nCOPY ui /ui\nRUN mkdir /windows && cp /x /windows/tool.cmd\n", meta,
			[]string{"notice :0:0 at=/host/binaries/0/windows/0/path"}},
		{"the UI from a stage: its entry point is not looked for", "FROM node AS build\nRUN npm run build\nFROM scratch\nCOPY metadata.json docker.svg /\nCOPY --from=build /app/dist /ui\nCOPY host/tool.cmd /windows/\n", meta, []string{}},
		{"no metadata.json copied", "FROM scratch\nCOPY docker.svg /\nCOPY ui /ui\nCOPY host/tool.cmd /windows/\n", meta,
			[]string{"error Dockerfile:1:0"}}, // the final stage's FROM
		{"metadata.json from a stage", "FROM alpine AS gen\nRUN gen > /metadata.json\nFROM scratch\nCOPY --from=gen / /\n", "",
			[]string{"notice Dockerfile:4:0"}}, // the COPY --from
		{"a here-document", "FROM scratch\nCOPY <<EOF /metadata.json\n{}\nEOF\n", "{}", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := runLint(t, lintFor(t, tc.dockerfile, source.DockerfileOptions{}, ctx, tc.metadata), nil, sourceFiles)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
				for _, f := range fs {
					t.Log(f.Message)
				}
			}
		})
	}
}

func TestSourceFilesPerPlatform(t *testing.T) {
	t.Parallel()
	ctx := fstest.MapFS{"metadata.json": {Data: []byte("{}")}, "bin/amd64/tool": {Data: []byte("x")}}
	df := "FROM scratch\nARG TARGETARCH\nCOPY metadata.json /\nCOPY bin/${TARGETARCH}/tool /linux/\n"
	meta := `{"host": {"binaries": [{"linux": [{"path": "/linux/tool"}]}]}}`
	// arm64's source is not in the directory: taken to be a file where
	// its name says, so both platforms have /linux/tool.
	if fs := runLint(t, lintFor(t, df, source.DockerfileOptions{}, ctx, meta), nil, sourceFiles); len(fs) != 0 {
		t.Errorf("findings %v, want none", brief(fs))
	}
	df = "FROM scratch\nARG TARGETARCH\nCOPY metadata.json /\nCOPY bin/${TARGETARCH}/tool /linux-${TARGETARCH}/tool\n"
	meta = `{"host": {"binaries": [{"linux": [{"path": "/linux-amd64/tool"}]}]}}`
	want := []string{"error :0:0 at=/host/binaries/0/linux/0/path platform=linux/arm64"}
	if diff := cmp.Diff(want, brief(runLint(t, lintFor(t, df, source.DockerfileOptions{}, ctx, meta), nil, sourceFiles))); diff != "" {
		t.Errorf("Run() mismatch (-want +got):\n%s", diff)
	}
}

func TestSourceFilesCapsTheNotices(t *testing.T) {
	t.Parallel()
	var bins []string
	for i := range 8 {
		bins = append(bins, fmt.Sprintf(`{"path": "/linux/t%d"}`, i))
	}
	meta := `{"host": {"binaries": [{"linux": [` + strings.Join(bins, ",") + `]}]}}`
	fs := runLint(t, lintFor(t, "FROM alpine\nCOPY metadata.json /\nRUN make\n", source.DockerfileOptions{}, fstest.MapFS{"metadata.json": {}}, meta), nil, sourceFiles)
	counted := slices.ContainsFunc(fs, func(f Finding) bool { return strings.Contains(f.Message, "3 more paths") })
	if len(fs) != maxPossibleNotices+1 || !counted {
		t.Errorf("got %d findings (counted: %v), want %d and a count of 3 more", len(fs), counted, maxPossibleNotices+1)
	}
}

func TestSourceImageLabels(t *testing.T) {
	t.Parallel()
	df := "FROM scratch\nARG VERSION\nLABEL org.opencontainers.image.title=\"Acme\" \\\n    org.opencontainers.image.version=\"$VERSION\" \\\n    org.opencontainers.image.vendor=\"Acme Inc.\"\n"
	for _, tc := range []struct {
		name   string
		labels map[string]string
		built  bool
		want   []string
	}{
		{"the same", map[string]string{"org.opencontainers.image.title": "Acme", "org.opencontainers.image.version": "", "org.opencontainers.image.vendor": "Acme Inc."}, true, []string{}},
		{"stale", map[string]string{"org.opencontainers.image.title": "Old", "org.opencontainers.image.version": "", "org.opencontainers.image.vendor": "Acme Inc."}, true,
			[]string{"warning Dockerfile:3:7 label=org.opencontainers.image.title"}},
		{"a build argument", map[string]string{"org.opencontainers.image.title": "Acme", "org.opencontainers.image.version": "1.2.0", "org.opencontainers.image.vendor": "Acme Inc."}, true,
			[]string{"notice Dockerfile:4:5 label=org.opencontainers.image.version"}},
		{"missing from the image", map[string]string{"org.opencontainers.image.title": "Acme", "org.opencontainers.image.version": ""}, true,
			[]string{"warning Dockerfile:5:5 label=org.opencontainers.image.vendor"}},
		{"only beside a built image", map[string]string{}, false, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := lintFor(t, df, source.DockerfileOptions{}, nil, "")
			l.Built = tc.built
			fs := runLint(t, l, tc.labels, sourceImageLabels)
			if diff := cmp.Diff(tc.want, brief(fs)); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLintRules(t *testing.T) {
	t.Parallel()
	ids := func(rs []*Rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	all := ids(LintRules(&Lint{}))
	for _, id := range []string{"platforms/required", "metadata/files", "metadata/present", "host/windows", "image/layer", "version/semver"} {
		if slices.Contains(all, id) {
			t.Errorf("LintRules runs %s, which needs the built image", id)
		}
	}
	for _, id := range []string{"labels/required", "metadata/schema", "api/compatible", "vm/compose", "source/files"} {
		if !slices.Contains(all, id) {
			t.Errorf("LintRules lacks %s", id)
		}
	}
	broken := ids(LintRules(&Lint{Err: &source.Error{Line: 3}}))
	for _, id := range broken {
		if strings.HasPrefix(id, "labels/") || strings.HasPrefix(id, "api/") {
			t.Errorf("LintRules runs %s on a Dockerfile BuildKit refuses", id)
		}
	}
}
