package source

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// originOf parses dockerfile and returns the origin of p in context.
func originOf(t *testing.T, dockerfile, p string, context fstest.MapFS, opts DockerfileOptions) Origin {
	t.Helper()
	df, err := ParseDockerfile(strings.NewReader(dockerfile), opts)
	if err != nil {
		t.Fatalf("ParseDockerfile: %v", err)
	}
	return df.Origin(p, context)
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	ctx := fstest.MapFS{
		"metadata.json":       {Data: []byte("{}")},
		"docker.svg":          {Data: []byte("<svg/>")},
		"ui/index.html":       {Data: []byte("<html/>")},
		"etc/metadata.json":   {Data: []byte("{}")},
		"bin/amd64/tool":      {Data: []byte("x")},
		"bin/arm64/tool":      {Data: []byte("x")},
		"host/tool.exe":       {Data: []byte("MZ")},
		"plugin.tar.gz":       {Data: []byte("x")},
		"compose/compose.yml": {Data: []byte("services: {}")},
	}
	type want struct {
		kind       OriginKind
		ctxPath    string
		candidates []Candidate
		inline     string
	}
	for _, tc := range []struct {
		name, dockerfile, path string
		opts                   DockerfileOptions
		want                   want
	}{
		{"a file copied to the root", "FROM scratch\nCOPY metadata.json docker.svg /\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "metadata.json"}},
		{"copied into the working directory", "FROM alpine\nWORKDIR /opt\nCOPY metadata.json .\n", "/opt/metadata.json",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "metadata.json"}},
		{"not where the working directory put it", "FROM scratch\nWORKDIR /opt\nCOPY metadata.json .\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Absent}},
		{"from a subdirectory, renamed", "FROM scratch\nCOPY etc/metadata.json /metadata.json\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "etc/metadata.json"}},
		{"another file's name", "FROM scratch\nCOPY docker.svg /\n", "/epinio.svg",
			DockerfileOptions{}, want{kind: Absent}},
		{"a file inside a copied directory", "FROM scratch\nCOPY ui /ui\n", "/ui/index.html",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "ui/index.html"}},
		{"the copied directory itself", "FROM scratch\nCOPY ui /ui\n", "/ui",
			DockerfileOptions{}, want{kind: Copied}},
		{"a directory that lacks the file as read", "FROM scratch\nCOPY ui /ui\n", "/ui/main.js",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"COPY", 2}}}},
		{"a missing file source lands where its name says", "FROM scratch\nCOPY logo.svg /\n", "/logo.svg",
			DockerfileOptions{}, want{kind: Copied}},
		{"a missing file source puts nothing elsewhere", "FROM scratch\nCOPY logo.svg /\n", "/ui",
			DockerfileOptions{}, want{kind: Absent}},
		{"a missing directory source may hold it", "FROM scratch\nCOPY dist /ui\n", "/ui/index.html",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"COPY", 2}}}},
		{"a wildcard", "FROM scratch\nCOPY *.json /\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "metadata.json"}},
		{"TARGETARCH in the source", "FROM scratch\nARG TARGETARCH\nCOPY bin/${TARGETARCH}/tool /linux/tool\n", "/linux/tool",
			DockerfileOptions{Platform: "linux/arm64"}, want{kind: Copied, ctxPath: "bin/arm64/tool"}},
		{"COPY --from names it", "FROM alpine AS build\nRUN make\nFROM scratch\nCOPY --from=build /out/ui /ui\n", "/ui",
			DockerfileOptions{}, want{kind: Copied}},
		{"inside a COPY --from directory", "FROM alpine AS build\nRUN make\nFROM scratch\nCOPY --from=build /out/ui /ui\n", "/ui/index.html",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"COPY --from=build", 4}}}},
		{"only a RUN may", "FROM alpine\nRUN curl -o /darwin/tool https://example.com/tool\nCOPY metadata.json /\n", "/darwin/tool",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"RUN", 2}}}},
		{"a RUN of a build stage does not count", "FROM alpine AS build\nRUN make\nFROM scratch\nCOPY metadata.json /\n", "/darwin/tool",
			DockerfileOptions{}, want{kind: Absent}},
		{"a RUN of the stage it is built FROM counts", "FROM alpine AS base\nRUN make\nFROM base\nCOPY metadata.json /\n", "/darwin/tool",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"RUN", 2}}}},
		{"ADD of a URL", "FROM scratch\nADD https://example.com/tool.exe /windows/\n", "/windows/tool.exe",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"ADD", 2}}}},
		{"ADD of a local archive", "FROM scratch\nADD plugin.tar.gz /\n", "/ui/index.html",
			DockerfileOptions{}, want{kind: Possible, candidates: []Candidate{{"ADD", 2}}}},
		{"a here-document", "FROM scratch\nCOPY <<EOF /metadata.json\n{\"icon\": \"x.svg\"}\nEOF\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Copied, inline: "{\"icon\": \"x.svg\"}\n"}},
		{"the target stage, not the last", "FROM scratch AS release\nCOPY metadata.json /\nFROM scratch AS debug\nCOPY docker.svg /\n", "/metadata.json",
			DockerfileOptions{Target: "release"}, want{kind: Copied, ctxPath: "metadata.json"}},
		{"the last stage by default", "FROM scratch AS release\nCOPY metadata.json /\nFROM scratch AS debug\nCOPY docker.svg /\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Absent}},
		{"a later exact copy wins", "FROM scratch\nCOPY metadata.json /\nCOPY etc/metadata.json /metadata.json\n", "/metadata.json",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "etc/metadata.json"}},
		{"a directory into the root", "FROM scratch\nCOPY compose /\n", "/compose.yml",
			DockerfileOptions{}, want{kind: Copied, ctxPath: "compose/compose.yml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := originOf(t, tc.dockerfile, tc.path, ctx, tc.opts)
			got := want{kind: o.Kind, ctxPath: o.ContextPath, candidates: o.Candidates}
			if o.Inline != nil {
				got.inline = o.Inline.Body
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("Origin(%q) mismatch (-want +got):\n%s", tc.path, diff)
			}
			if (o.Kind == Copied) != (o.Copy != nil) {
				t.Errorf("Origin(%q): kind %v with copy %v", tc.path, o.Kind, o.Copy)
			}
		})
	}
}
