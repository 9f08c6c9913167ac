package source

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parse parses a Dockerfile given as lines, failing the test on an error.
func parse(t *testing.T, opts DockerfileOptions, lines ...string) *Dockerfile {
	t.Helper()
	df, err := ParseDockerfile(strings.NewReader(strings.Join(lines, "\n")+"\n"), opts)
	if err != nil {
		t.Fatalf("ParseDockerfile() error: %v", err)
	}
	return df
}

// labelValues returns the image's labels as key -> value.
func labelValues(df *Dockerfile) map[string]string {
	out := map[string]string{}
	for k, l := range df.Labels {
		out[k] = l.Value
	}
	return out
}

func TestParseDockerfileLabelValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		lines []string
		opts  DockerfileOptions
		want  map[string]string
		// unset are the labels whose Unset is not empty.
		unset map[string][]string
	}{
		{
			name:  "one label",
			lines: []string{"FROM scratch", "LABEL a=b"},
			want:  map[string]string{"a": "b"},
		},
		{
			name:  "several labels in one instruction",
			lines: []string{"FROM scratch", "LABEL a=b c=d"},
			want:  map[string]string{"a": "b", "c": "d"},
		},
		{
			name:  "quoted keys and values with spaces",
			lines: []string{"FROM scratch", `LABEL "a b"="c d" e='f  g' h="say \"hi\""`},
			want:  map[string]string{"a b": "c d", "e": "f  g", "h": `say "hi"`},
		},
		{
			name:  "legacy key value form: the rest of the line is the value",
			lines: []string{"FROM scratch", "LABEL org.opencontainers.image.title My   Plugin"},
			want:  map[string]string{"org.opencontainers.image.title": "My   Plugin"},
		},
		{
			name:  "line continuations, comment and blank lines inside",
			lines: []string{"FROM scratch", `LABEL a="x" \`, "  # a comment", `  b="y z" \`, "", `  c=w`},
			want:  map[string]string{"a": "x", "b": "y z", "c": "w"},
		},
		{
			name:  "escape directive: backtick continues lines, backslash is literal",
			lines: []string{"# escape=`", "FROM scratch", "LABEL path=C:\\tools `", "  q=\"a`\"b\""},
			want:  map[string]string{"path": `C:\tools`, "q": `a"b`},
		},
		{
			name:  "a later LABEL wins",
			lines: []string{"FROM scratch", "LABEL a=1 b=1", "LABEL a=2"},
			want:  map[string]string{"a": "2", "b": "1"},
		},
		{
			name:  "ARG default",
			lines: []string{"FROM scratch", "ARG VERSION=1.2.0", "LABEL v=$VERSION w=${VERSION}-beta"},
			want:  map[string]string{"v": "1.2.0", "w": "1.2.0-beta"},
		},
		{
			name:  "ARG without default is empty",
			lines: []string{"FROM scratch", "ARG VERSION", `LABEL v="${VERSION}"`},
			want:  map[string]string{"v": ""},
			unset: map[string][]string{"v": {"VERSION"}},
		},
		{
			name:  "build arg overrides the default",
			lines: []string{"FROM scratch", "ARG VERSION=1.2.0", "LABEL v=$VERSION"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"VERSION": "2.0.0"}},
			want:  map[string]string{"v": "2.0.0"},
		},
		{
			name:  "build arg for an ARG without default",
			lines: []string{"FROM scratch", "ARG VERSION", "LABEL v=$VERSION"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"VERSION": "2.0.0"}},
			want:  map[string]string{"v": "2.0.0"},
		},
		{
			name:  "build arg nothing declares is unused",
			lines: []string{"FROM scratch", "LABEL v=$VERSION"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"VERSION": "2.0.0"}},
			want:  map[string]string{"v": ""},
			unset: map[string][]string{"v": {"VERSION"}},
		},
		{
			name:  "global ARG not redeclared is empty in the stage",
			lines: []string{"ARG VERSION=1.0.0", "FROM scratch", "LABEL v=$VERSION"},
			want:  map[string]string{"v": ""},
			unset: map[string][]string{"v": {"VERSION"}},
		},
		{
			name:  "global ARG redeclared without value takes the global default",
			lines: []string{"ARG VERSION=1.0.0", "FROM scratch", "ARG VERSION", "LABEL v=$VERSION"},
			want:  map[string]string{"v": "1.0.0"},
		},
		{
			name:  "global ARG redeclared with its own default",
			lines: []string{"ARG VERSION=1.0.0", "FROM scratch", "ARG VERSION=3", "LABEL v=$VERSION"},
			want:  map[string]string{"v": "3"},
		},
		{
			name:  "global ARG redeclared, build arg wins",
			lines: []string{"ARG VERSION=1.0.0", "FROM scratch", "ARG VERSION", "LABEL v=$VERSION"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"VERSION": "9"}},
			want:  map[string]string{"v": "9"},
		},
		{
			name:  "global ARG default uses an earlier global ARG",
			lines: []string{"ARG MAJOR=1", "ARG VERSION=${MAJOR}.5", "FROM scratch", "ARG VERSION", "LABEL v=$VERSION"},
			want:  map[string]string{"v": "1.5"},
		},
		{
			name:  "ENV, also in legacy form",
			lines: []string{"FROM scratch", "ENV A=x", "ENV B hello world", "LABEL a=$A b=\"$B\" c=${A}${B}"},
			want:  map[string]string{"a": "x", "b": "hello world", "c": "xhello world"},
		},
		{
			name:  "ENV expands with the values before the instruction",
			lines: []string{"FROM scratch", "ENV A=1", "ENV A=2 B=$A", "LABEL b=$B a=$A"},
			want:  map[string]string{"a": "2", "b": "1"},
		},
		{
			name:  "ENV wins over an earlier ARG of the same name",
			lines: []string{"FROM scratch", "ARG V=arg", "ENV V=env", "LABEL v=$V"},
			want:  map[string]string{"v": "env"},
		},
		{
			name:  "TARGETARCH needs ARG in the stage",
			lines: []string{"FROM scratch", "LABEL before=$TARGETARCH", "ARG TARGETARCH", "LABEL after=$TARGETARCH"},
			opts:  DockerfileOptions{Platform: "linux/arm64"},
			want:  map[string]string{"before": "", "after": "arm64"},
			unset: map[string][]string{"before": {"TARGETARCH"}},
		},
		{
			name: "automatic platform ARGs",
			lines: []string{"FROM scratch", "ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH TARGETSTAGE",
				"LABEL t=$TARGETPLATFORM os=$TARGETOS a=$TARGETARCH v=$TARGETVARIANT b=$BUILDPLATFORM ba=$BUILDARCH s=$TARGETSTAGE"},
			opts: DockerfileOptions{Platform: "linux/arm/v6", BuildPlatform: "linux/x86_64"},
			want: map[string]string{"t": "linux/arm/v6", "os": "linux", "a": "arm", "v": "v6", "b": "linux/amd64", "ba": "amd64", "s": "default"},
		},
		{
			name:  "automatic platform ARGs default to linux/amd64; TARGETSTAGE names the last stage",
			lines: []string{"FROM scratch AS final", "ARG TARGETPLATFORM BUILDPLATFORM TARGETSTAGE", "LABEL t=$TARGETPLATFORM b=$BUILDPLATFORM s=$TARGETSTAGE"},
			want:  map[string]string{"t": "linux/amd64", "b": "linux/amd64", "s": "final"},
		},
		{
			name:  "a build arg overrides an automatic platform ARG",
			lines: []string{"FROM scratch", "ARG TARGETARCH", "LABEL a=$TARGETARCH"},
			opts:  DockerfileOptions{Platform: "linux/arm64", BuildArgs: map[string]string{"TARGETARCH": "riscv64"}},
			want:  map[string]string{"a": "riscv64"},
		},
		{
			name:  "shell forms: defaults, alternatives, quotes and escapes",
			lines: []string{"FROM scratch", "ARG SET=x", `LABEL d=${UNSET:-dflt} p=${SET:+alt} q='$SET' e=\$SET`},
			want:  map[string]string{"d": "dflt", "p": "alt", "q": "$SET", "e": "$SET"},
			unset: map[string][]string{"d": {"UNSET"}},
		},
		{
			name:  "a variable in the key",
			lines: []string{"FROM scratch", "ARG NS=com.acme", "LABEL ${NS}.title=x"},
			want:  map[string]string{"com.acme.title": "x"},
		},
		{
			name:  "a stage built FROM another inherits its labels, ENV and ARGs",
			lines: []string{"FROM alpine AS base", "LABEL a=1 b=1", "ARG X=x", "ENV Y=y", "FROM base", "LABEL b=2 c=$X-$Y"},
			want:  map[string]string{"a": "1", "b": "2", "c": "x-y"},
		},
		{
			name:  "an unrelated stage's labels do not reach the image",
			lines: []string{"FROM alpine AS builder", "LABEL only=builder", "FROM scratch", "LABEL final=1"},
			want:  map[string]string{"final": "1"},
		},
		{
			name:  "target option",
			lines: []string{"FROM alpine AS builder", "LABEL only=builder", "FROM scratch", "LABEL final=1"},
			opts:  DockerfileOptions{Target: "Builder"},
			want:  map[string]string{"only": "builder"},
		},
		{
			name:  "invalid UTF-8 in a comment is fine",
			lines: []string{"FROM scratch", "# caf\xe9", "LABEL a=b"},
			want:  map[string]string{"a": "b"},
		},
		{
			name:  "windows line endings and a byte-order mark",
			lines: []string{"\uFEFFFROM scratch\r", "LABEL a=b \\\r", "  c=d\r"},
			want:  map[string]string{"a": "b", "c": "d"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			df := parse(t, tc.opts, tc.lines...)
			if diff := cmp.Diff(tc.want, labelValues(df)); diff != "" {
				t.Errorf("labels mismatch (-want +got):\n%s", diff)
			}
			unset := map[string][]string{}
			for k, l := range df.Labels {
				if len(l.Unset) > 0 {
					unset[k] = l.Unset
				}
			}
			want := tc.unset
			if want == nil {
				want = map[string][]string{}
			}
			if diff := cmp.Diff(want, unset); diff != "" {
				t.Errorf("unset variables mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDockerfileLabelDetails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		lines []string
		want  map[string]*Label
		stray []StrayLabel
	}{
		{
			name: "lines and columns across continuations",
			lines: []string{
				"FROM alpine AS base", // 1
				"LABEL inherited=yes", // 2
				"FROM base",           // 3
				"ARG VERSION",         // 4
				`LABEL org.opencontainers.image.title="My Plugin" \`, // 5
				"    # the version",            // 6
				"\tversion=${VERSION} a=1 b=2", // 7
				"LABEL a=3",                    // 8
			},
			want: map[string]*Label{
				"inherited": {Key: "inherited", Value: "yes", RawKey: "inherited", RawValue: "yes", Stage: 0, Line: 2, Column: 7},
				"org.opencontainers.image.title": {Key: "org.opencontainers.image.title", Value: "My Plugin",
					RawKey: "org.opencontainers.image.title", RawValue: `"My Plugin"`, Stage: 1, Line: 5, Column: 7, Lines: []int{5}},
				"version": {Key: "version", Value: "", RawKey: "version", RawValue: "${VERSION}", Stage: 1, Line: 7, Column: 2,
					Unset: []string{"VERSION"}, Blank: []string{"VERSION"}, Lines: []int{7}},
				"a": {Key: "a", Value: "3", RawKey: "a", RawValue: "3", Stage: 1, Line: 8, Column: 7, Lines: []int{7, 8}},
				"b": {Key: "b", Value: "2", RawKey: "b", RawValue: "2", Stage: 1, Line: 7, Column: 25, Lines: []int{7}},
			},
		},
		{
			name: "a key that also occurs in an earlier value is found after the value",
			lines: []string{
				"FROM scratch",
				`LABEL d="b=c" b=x`,
			},
			want: map[string]*Label{
				"d": {Key: "d", Value: "b=c", RawKey: "d", RawValue: `"b=c"`, Line: 2, Column: 7, Lines: []int{2}},
				"b": {Key: "b", Value: "x", RawKey: "b", RawValue: "x", Line: 2, Column: 15, Lines: []int{2}},
			},
		},
		{
			name:  "legacy form",
			lines: []string{"FROM scratch", "  LABEL   title  My Plugin"},
			want: map[string]*Label{
				"title": {Key: "title", Value: "My Plugin", RawKey: "title", RawValue: "My Plugin", Line: 2, Column: 11, Lines: []int{2}},
			},
		},
		{
			name:  "columns count characters",
			lines: []string{"FROM scratch", `LABEL desc="héllo wörld" title=x`},
			want: map[string]*Label{
				"desc":  {Key: "desc", Value: "héllo wörld", RawKey: "desc", RawValue: `"héllo wörld"`, Line: 2, Column: 7, Lines: []int{2}},
				"title": {Key: "title", Value: "x", RawKey: "title", RawValue: "x", Line: 2, Column: 26, Lines: []int{2}},
			},
		},
		{
			name: "labels set only in stages that do not reach the image",
			lines: []string{
				"FROM alpine AS builder",                 // 1
				"LABEL com.docker.extension.changelog=x", // 2
				"LABEL title=builder",                    // 3
				"FROM builder AS tools",                  // 4
				"LABEL tools=1",                          // 5
				"FROM scratch",                           // 6
				"LABEL title=final",                      // 7
			},
			want: map[string]*Label{
				"title": {Key: "title", Value: "final", RawKey: "title", RawValue: "final", Stage: 2, Line: 7, Column: 7, Lines: []int{7}},
			},
			stray: []StrayLabel{
				{Key: "com.docker.extension.changelog", Stage: 0, Line: 2},
				{Key: "tools", Stage: 1, Line: 5},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			df := parse(t, DockerfileOptions{}, tc.lines...)
			// Instruction is Locate's, tested there.
			if diff := cmp.Diff(tc.want, df.Labels, cmpopts.IgnoreFields(Label{}, "Instruction")); diff != "" {
				t.Errorf("Labels mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stray, df.StrayLabels); diff != "" {
				t.Errorf("StrayLabels mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// stageView is what TestParseDockerfileStages compares of a stage.
type stageView struct {
	Name, Base, RawBase string
	BaseStage           int
	Platform            string
	Line, EndLine       int
}

func TestParseDockerfileStages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		lines  []string
		opts   DockerfileOptions
		want   []stageView
		target int
		args   []Arg
	}{
		{
			name: "global ARGs in FROM, platforms, stage references",
			lines: []string{
				"ARG GO=1.22", // 1
				"ARG BASE",    // 2
				"FROM --platform=$BUILDPLATFORM golang:${GO} AS Build", // 3
				"FROM build AS test",             // 4
				"FROM alpine:${BASE:-3.20}",      // 5
				"FROM --platform=linux/arm64 \\", // 6
				"  final",                        // 7
				"FROM scratch AS final",          // 8
			},
			opts: DockerfileOptions{Platform: "linux/arm64", BuildPlatform: "linux/amd64"},
			want: []stageView{
				{Name: "build", Base: "golang:1.22", RawBase: "golang:${GO}", BaseStage: -1, Platform: "linux/amd64", Line: 3, EndLine: 3},
				{Name: "test", Base: "build", RawBase: "build", BaseStage: 0, Line: 4, EndLine: 4},
				{Base: "alpine:3.20", RawBase: "alpine:${BASE:-3.20}", BaseStage: -1, Line: 5, EndLine: 5},
				// A stage can only be built FROM an earlier one.
				{Base: "final", RawBase: "final", BaseStage: -1, Platform: "linux/arm64", Line: 6, EndLine: 7},
				{Name: "final", Base: "scratch", RawBase: "scratch", BaseStage: -1, Line: 8, EndLine: 8},
			},
			target: 4,
			args:   []Arg{{Name: "GO", Value: "1.22", HasValue: true, Line: 1}, {Name: "BASE", Line: 2}},
		},
		{
			name:  "build args for global ARGs",
			lines: []string{"ARG BASE=alpine", "FROM $BASE AS one", "FROM scratch"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"BASE": "debian"}, Target: "one"},
			want: []stageView{
				{Name: "one", Base: "debian", RawBase: "$BASE", BaseStage: -1, Line: 2, EndLine: 2},
				{Base: "scratch", RawBase: "scratch", BaseStage: -1, Line: 3, EndLine: 3},
			},
			args: []Arg{{Name: "BASE", Value: "debian", HasValue: true, Line: 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			df := parse(t, tc.opts, tc.lines...)
			var got []stageView
			for _, s := range df.Stages {
				got = append(got, stageView{s.Name, s.Base, s.RawBase, s.BaseStage, s.Platform, s.Line, s.EndLine})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stages mismatch (-want +got):\n%s", diff)
			}
			if df.Target != tc.target {
				t.Errorf("Target = %d, want %d", df.Target, tc.target)
			}
			if diff := cmp.Diff(tc.args, df.Args); diff != "" {
				t.Errorf("Args mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDockerfileCopiesAndRuns(t *testing.T) {
	t.Parallel()
	df := parse(t, DockerfileOptions{Platform: "linux/arm64"},
		"FROM golang AS builder",                      // 1
		"ARG TARGETARCH",                              // 2
		"RUN --mount=type=cache,target=/go \\",        // 3
		"    GOARCH=$TARGETARCH go build -o /out/svc", // 4
		"FROM alpine AS base",                         // 5
		"WORKDIR /app",                                // 6
		"COPY metadata.json .",                        // 7
		"FROM base",                                   // 8
		"ARG TARGETARCH",                              // 9
		"WORKDIR ui",                                  // 10
		"COPY --from=builder /out/svc /bin/svc-${TARGETARCH}", // 11
		"COPY --from=0 /out/svc ./",                           // 12
		"ADD https://example.com/x.tgz /opt/",                 // 13
		"COPY --from=alpine:3 /bin/busybox /bin/",             // 14
		"COPY <<EOF /etc/motd",                                // 15
		"hello $TARGETARCH",                                   // 16
		"EOF",                                                 // 17
		`RUN ["echo", "$TARGETARCH"]`,                         // 18
		"RUN --mount=from=builder,target=/b <<EOT sh",         // 19
		"  cp /b/out/svc /svc",                                // 20
		"EOT",                                                 // 21
	)
	wantCopies := []Copy{
		{Sources: []string{"metadata.json"}, Dest: ".", Dir: "/app", FromStage: -1, Stage: 1, Line: 7, EndLine: 7},
		{Sources: []string{"/out/svc"}, Dest: "/bin/svc-arm64", Dir: "/app/ui", From: "builder", FromStage: 0, Stage: 2, Line: 11, EndLine: 11},
		{Sources: []string{"/out/svc"}, Dest: "./", Dir: "/app/ui", From: "0", FromStage: 0, Stage: 2, Line: 12, EndLine: 12},
		{Add: true, Sources: []string{"https://example.com/x.tgz"}, Dest: "/opt/", Dir: "/app/ui", FromStage: -1, Stage: 2, Line: 13, EndLine: 13},
		{Sources: []string{"/bin/busybox"}, Dest: "/bin/", Dir: "/app/ui", From: "alpine:3", FromStage: -1, Stage: 2, Line: 14, EndLine: 14},
		{Inline: []Heredoc{{Name: "EOF", Body: "hello arm64\n"}}, Dest: "/etc/motd", Dir: "/app/ui", FromStage: -1, Stage: 2, Line: 15, EndLine: 17},
	}
	if diff := cmp.Diff(wantCopies, df.Copies); diff != "" {
		t.Errorf("Copies mismatch (-want +got):\n%s", diff)
	}
	var dests []string
	for _, c := range df.Copies {
		dests = append(dests, c.DestPath())
	}
	if diff := cmp.Diff([]string{"/app/", "/bin/svc-arm64", "/app/ui/", "/opt/", "/bin/", "/etc/motd"}, dests); diff != "" {
		t.Errorf("DestPath() mismatch (-want +got):\n%s", diff)
	}
	wantRuns := []Run{
		{Args: []string{"echo", "$TARGETARCH"}, Stage: 2, Line: 18, EndLine: 18},
		{Shell: true, Args: []string{"<<EOT sh"}, Heredocs: []Heredoc{{Name: "EOT", Body: "  cp /b/out/svc /svc\n"}},
			MountsFrom: []string{"builder"}, Stage: 2, Line: 19, EndLine: 21},
	}
	if diff := cmp.Diff(wantRuns, df.Runs); diff != "" {
		t.Errorf("Runs mismatch (-want +got):\n%s", diff)
	}
	builder := df.Stages[0]
	if len(builder.Runs) != 1 || builder.Runs[0].Line != 3 || builder.Runs[0].EndLine != 4 {
		t.Errorf("builder stage Runs = %+v, want the RUN on lines 3-4", builder.Runs)
	}
}

func TestParseDockerfileConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		lines           []string
		entrypoint, cmd []string
		epLine, cmdLine int
		env             []string
		workDir         string
	}{
		{
			name:    "shell form CMD",
			lines:   []string{"FROM alpine", "CMD /service -socket /run/guest-services/x.sock"},
			cmd:     []string{"/bin/sh", "-c", "/service -socket /run/guest-services/x.sock"},
			cmdLine: 2,
			env:     []string{"PATH=" + defaultPath},
			workDir: "/",
		},
		{
			name:       "exec form CMD and ENTRYPOINT",
			lines:      []string{"FROM alpine", `CMD ["sleep", "infinity"]`, `ENTRYPOINT ["/sbin/tini", "--"]`},
			entrypoint: []string{"/sbin/tini", "--"}, epLine: 3,
			cmd: []string{"sleep", "infinity"}, cmdLine: 2,
			env:     []string{"PATH=" + defaultPath},
			workDir: "/",
		},
		{
			name:       "SHELL wraps the shell form",
			lines:      []string{"FROM alpine", `SHELL ["/bin/bash", "-eo", "pipefail", "-c"]`, "ENTRYPOINT exec /svc"},
			entrypoint: []string{"/bin/bash", "-eo", "pipefail", "-c", "exec /svc"}, epLine: 3,
			env:     []string{"PATH=" + defaultPath},
			workDir: "/",
		},
		{
			name: "ENTRYPOINT in a later stage drops the inherited CMD",
			lines: []string{"FROM alpine AS base", "ENV PATH=/opt/bin:/bin A=1", "WORKDIR /srv", `CMD ["serve"]`,
				"FROM base", `ENTRYPOINT ["/svc"]`},
			entrypoint: []string{"/svc"}, epLine: 6,
			env:     []string{"PATH=/opt/bin:/bin", "A=1"},
			workDir: "/srv",
		},
		{
			name:    "CMD is inherited from a base stage",
			lines:   []string{"FROM alpine AS base", `CMD ["serve"]`, "FROM base", "LABEL a=b"},
			cmd:     []string{"serve"},
			env:     []string{"PATH=" + defaultPath},
			workDir: "/",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := parse(t, DockerfileOptions{}, tc.lines...).Final()
			if diff := cmp.Diff(tc.entrypoint, f.Entrypoint); diff != "" {
				t.Errorf("Entrypoint mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.cmd, f.Cmd); diff != "" {
				t.Errorf("Cmd mismatch (-want +got):\n%s", diff)
			}
			if f.EntrypointLine != tc.epLine || f.CmdLine != tc.cmdLine {
				t.Errorf("EntrypointLine, CmdLine = %d, %d, want %d, %d", f.EntrypointLine, f.CmdLine, tc.epLine, tc.cmdLine)
			}
			if diff := cmp.Diff(tc.env, f.Env); diff != "" {
				t.Errorf("Env mismatch (-want +got):\n%s", diff)
			}
			if f.WorkDir != tc.workDir {
				t.Errorf("WorkDir = %q, want %q", f.WorkDir, tc.workDir)
			}
		})
	}
}

func TestParseDockerfileWarnings(t *testing.T) {
	t.Parallel()
	df := parse(t, DockerfileOptions{}, "FROM scratch", "LABEL a=b \\", "", "  c=d")
	want := []Warning{{Line: 4, Message: "Empty continuation line found in: LABEL a=b   c=d"}}
	if diff := cmp.Diff(want, df.Warnings); diff != "" {
		t.Errorf("Warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		text     string
		opts     DockerfileOptions
		wantLine int
		want     string
	}{
		{name: "empty", text: "", want: "empty"},
		{name: "only comments", text: "# nothing\n\n", wantLine: 2, want: "no instructions"},
		{name: "no FROM", text: "ARG A=1\n", want: "no stage to build"},
		{name: "an instruction before FROM", text: "# c\nLABEL a=b\nFROM scratch\n", wantLine: 2, want: "no FROM before it"},
		{name: "unknown instruction", text: "FROM scratch\nLABEL a=b \\\n  c=d\n<li>oops</li>\n", wantLine: 4, want: "unknown instruction"},
		{name: "a LABEL value split by an unescaped newline", text: "FROM scratch\nLABEL a=\"one\ntwo\"\n", wantLine: 3, want: "unknown instruction"},
		{name: "LABEL without =", text: "FROM scratch\nLABEL a=b c\n", wantLine: 2, want: "can't find ="},
		{name: "legacy LABEL with no value", text: "FROM scratch\nLABEL a\n", wantLine: 2, want: "LABEL must have two arguments"},
		{name: "unterminated heredoc", text: "FROM scratch\nRUN <<EOT\necho\n", wantLine: 2, want: "unterminated heredoc"},
		{name: "a required variable", text: "FROM scratch\nLABEL a=b \\\n  v=${VERSION:?required}\n", wantLine: 3, want: "VERSION: required"},
		{name: "an unterminated variable", text: "FROM scratch\nENV A=${B\n", wantLine: 2, want: "expanding ENV"},
		{name: "a blank base", text: "ARG BASE\nFROM $BASE\n", wantLine: 2, want: "blank"},
		{name: "a blank platform", text: "FROM --platform=$NONE scratch\n", wantLine: 1, want: "platform"},
		{name: "a variable in COPY --from", text: "FROM scratch\nARG S=x\nCOPY --from=$S /a /b\n", wantLine: 3, want: "variable expansion is not supported"},
		{name: "a stage index out of range", text: "FROM scratch\nCOPY --from=3 /a /b\n", wantLine: 2, want: "invalid stage index 3"},
		{name: "an unknown target", text: "FROM scratch AS a\n", opts: DockerfileOptions{Target: "b"}, want: `stage "b" is not in the Dockerfile (stages: a)`},
		{name: "a bad platform option", text: "FROM scratch\n", opts: DockerfileOptions{Platform: "amd64"}, want: "not os/arch"},
		{name: "an invalid stage name", text: "FROM scratch AS 1st\n", wantLine: 1, want: "invalid name for build stage"},
		{name: "a NUL byte", text: "FROM scratch\nLABEL a=\x00\n", wantLine: 2, want: "NUL"},
		{name: "invalid UTF-8", text: "FROM scratch\nLABEL a=\xff\n", wantLine: 2, want: "not UTF-8"},
		{name: "invalid UTF-8 in a here-document's comment", text: "FROM scratch\nCOPY <<EOF /a\n# \xff\nEOF\n", wantLine: 2, want: "not UTF-8"},
		{name: "the target needs a failing stage", text: "FROM alpine AS b\nLABEL a=${X:?boom}\nFROM b\n", wantLine: 2, want: "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseDockerfile(strings.NewReader(tc.text), tc.opts)
			if err == nil {
				t.Fatalf("ParseDockerfile() = nil error, want one containing %q", tc.want)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("ParseDockerfile() error %v is a %T, not an *Error", err, err)
			}
			if de.Line != tc.wantLine || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseDockerfile() error = %q (line %d), want line %d and %q", err, de.Line, tc.wantLine, tc.want)
			}
		})
	}
}

func TestParseDockerfileIgnoresStagesTheTargetDoesNotNeed(t *testing.T) {
	t.Parallel()
	df := parse(t, DockerfileOptions{},
		"FROM alpine AS unused",
		"LABEL a=${X:?boom}",
		"FROM alpine AS used",
		"RUN true",
		"FROM scratch",
		"COPY --from=used /x /x",
		"LABEL b=1")
	if diff := cmp.Diff(map[string]string{"b": "1"}, labelValues(df)); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
}

func TestParseDockerfileReadError(t *testing.T) {
	t.Parallel()
	_, err := ParseDockerfile(failingReader{}, DockerfileOptions{})
	if err == nil || !strings.Contains(err.Error(), "reading Dockerfile") || !errors.Is(err, errBroken) {
		t.Errorf("ParseDockerfile() error = %v, want a wrapped read error", err)
	}
}

var errBroken = errors.New("broken")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errBroken }

// TestParseDockerfileBuildKitCases follows BuildKit's own integration
// tests of ARG and ENV (frontend/dockerfile/dockerfile_args_test.go), with a
// LABEL where they RUN echo: the values BuildKit's tests expect.
func TestParseDockerfileBuildKitCases(t *testing.T) {
	t.Parallel()
	defaultEnvWithArgs := []string{
		"ARG image=idlebox",
		"FROM busy${image#idle} AS build",
		"ARG my_arg",
		`ENV my_arg "my_arg=${my_arg:-def_val}"`,
		`ENV my_trimmed_arg "${my_arg%%e*}"`,
		`LABEL out="$my_arg $my_arg $my_trimmed_arg"`,
	}
	targetStage := []string{
		"FROM alpine AS base",
		"LABEL first=value:$TARGETSTAGE",
		"ARG TARGETSTAGE",
		"LABEL second=value:$TARGETSTAGE",
		"FROM scratch AS foo",
		"FROM base",
	}
	for _, tc := range []struct {
		name  string
		lines []string
		opts  DockerfileOptions
		base  string
		want  map[string]string
		err   string
	}{
		{
			name:  "testGlobalArg",
			lines: []string{"ARG tag=nosuchtag", "FROM busybox:${tag}"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"tag": "latest"}},
			base:  "busybox:latest",
			want:  map[string]string{},
		},
		{
			name:  "testGlobalArgErrors",
			lines: []string{`ARG FOO=${FOO:?"custom error"}`, "FROM busybox"},
			err:   "FOO: custom error",
		},
		{
			name:  "testGlobalArgErrors with the build arg",
			lines: []string{`ARG FOO=${FOO:?"custom error"}`, "FROM busybox"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"FOO": "bar"}},
			base:  "busybox",
			want:  map[string]string{},
		},
		{
			name:  "testArgDefaultExpansion",
			lines: []string{"FROM scratch", "ARG FOO", `ARG BAR=${FOO:?"foo missing"}`},
			err:   "FOO: foo missing",
		},
		{
			name:  "testArgDefaultExpansion: a build arg skips the default",
			lines: []string{"FROM scratch", "ARG FOO", `ARG BAR=${FOO:?"foo missing"}`, "LABEL bar=$BAR"},
			opts:  DockerfileOptions{BuildArgs: map[string]string{"BAR": "123"}},
			base:  "scratch",
			want:  map[string]string{"bar": "123"},
		},
		{
			name:  "testMultiArgs",
			lines: []string{`ARG a1="foo bar" a2=box`, `ARG a3="$a2-foo"`, "FROM busy$a2 AS build", `ARG a3 a4="123 456" a1`, `LABEL out="$a1:$a3:$a4"`},
			base:  "busybox",
			want:  map[string]string{"out": "foo bar:box-foo:123 456"},
		},
		{
			name:  "testQuotedMetaArgs",
			lines: []string{`ARG a1="box"`, `ARG a2="$a1-foo"`, "FROM busy$a1 AS build", "ARG a2", `ARG a3="bar-$a2"`, "LABEL out=$a3"},
			base:  "busybox",
			want:  map[string]string{"out": "bar-box-foo"},
		},
		{
			name:  "testDefaultEnvWithArgs nil",
			lines: defaultEnvWithArgs,
			base:  "busybox",
			want:  map[string]string{"out": "my_arg=def_val my_arg=def_val my_arg=d"},
		},
		{
			name:  "testDefaultEnvWithArgs empty",
			lines: defaultEnvWithArgs,
			opts:  DockerfileOptions{BuildArgs: map[string]string{"my_arg": ""}},
			base:  "busybox",
			want:  map[string]string{"out": "my_arg=def_val my_arg=def_val my_arg=d"},
		},
		{
			name:  "testDefaultEnvWithArgs override",
			lines: defaultEnvWithArgs,
			opts:  DockerfileOptions{BuildArgs: map[string]string{"my_arg": "override"}},
			base:  "busybox",
			want:  map[string]string{"out": "my_arg=override my_arg=override my_arg=ov"},
		},
		{
			name:  "testTargetStageNameArg",
			lines: targetStage,
			base:  "base",
			want:  map[string]string{"first": "value:", "second": "value:default"},
		},
		{
			name:  "testTargetStageNameArg with a target",
			lines: targetStage[:5],
			opts:  DockerfileOptions{Target: "foo"},
			base:  "scratch",
			want:  map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			df, err := ParseDockerfile(strings.NewReader(strings.Join(tc.lines, "\n")), tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseDockerfile() error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDockerfile() error: %v", err)
			}
			if got := df.Final().Base; got != tc.base {
				t.Errorf("final base = %q, want %q", got, tc.base)
			}
			if diff := cmp.Diff(tc.want, labelValues(df)); diff != "" {
				t.Errorf("labels mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseDockerfileTargetStage checks TARGETSTAGE in a stage the
// target is built from: the build's target, not the stage's own name
// (BuildKit's testTargetStageNameArg).
func TestParseDockerfileTargetStage(t *testing.T) {
	t.Parallel()
	df := parse(t, DockerfileOptions{Target: "foo"},
		"FROM alpine AS base", "ARG TARGETSTAGE", "LABEL s=$TARGETSTAGE", "FROM base AS foo")
	if diff := cmp.Diff(map[string]string{"s": "foo"}, labelValues(df)); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
}

// TestBlankReference: which references to an unset variable expand to
// nothing (source/unset-arg reports those).
func TestBlankReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"v=$VERSION", true},
		{"v=${VERSION}", true},
		{"v=${VERSION:-dev}", false},
		{"v=${VERSION-dev}", false},
		{"v=${VERSION:+set}", true},
		{"v=${VERSION%.*}", true},
		{"v=$VERSIONS", false}, // another name
		{"v=${VERSION_2}", false},
		{"v=1.0-$VERSION.x", true},
		{"v=none", false},
	} {
		if got := blankReference(tc.s, "VERSION"); got != tc.want {
			t.Errorf("blankReference(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
