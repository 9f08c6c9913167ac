package source

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseDockerfile reads arbitrary Dockerfiles: ParseDockerfile must
// not panic, must fail only with an *Error, and what it returns must point
// inside the file.
func FuzzParseDockerfile(f *testing.F) {
	for _, seed := range []string{
		"FROM scratch\nLABEL a=b\n",
		"# escape=`\nFROM scratch\nLABEL a=b `\n  c=\"d e\"\n",
		"ARG V=1\nFROM alpine AS base\nARG V\nLABEL v=$V\nFROM base\nLABEL w=${V:-x} ${V}.k=1\n",
		"FROM scratch\nLABEL title My Plugin\nLABEL title=again\n",
		"FROM alpine\nRUN <<EOT sh\necho $X\nEOT\nCOPY <<EOF /a\nhi\nEOF\nCOPY --from=0 / /\n",
		"FROM --platform=$BUILDPLATFORM golang AS b\nARG TARGETARCH\nRUN --mount=from=b,target=/x go build\nFROM scratch\nCOPY --from=b /out /\nCMD /out\nENTRYPOINT [\"/out\"]\n",
		"FROM scratch\nLABEL a=\"unterminated\n",
		"FROM scratch\nLABEL a=${b:?c}\n",
		"FROM scratch\nSHELL [\"pwsh\", \"-c\"]\nCMD x\nWORKDIR rel\nWORKDIR /abs\n",
		"\uFEFFFROM scratch\r\nLABEL a=b \\\r\n\r\n  c=d\r\n",
		"FROM $\nFROM ${\n",
		"ONBUILD LABEL a=b\nFROM scratch\n",
		"FROM scratch\nLABEL a=\x00 b=\xff\n# \xfe\n",
	} {
		f.Add(seed, "", "")
	}
	f.Add("FROM a AS x\nFROM x\nLABEL k=v\n", "x", "linux/arm/v7")
	f.Fuzz(func(t *testing.T, text, target, platform string) {
		if platform != "" && !strings.Contains(platform, "/") {
			platform = "linux/" + platform
		}
		df, err := ParseDockerfile(strings.NewReader(text), DockerfileOptions{
			Target: target, Platform: platform, BuildArgs: map[string]string{"V": "1"},
		})
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is a %T, not an *Error", err, err)
			}
			return
		}
		lines := strings.Count(text, "\n") + 1
		if df.Target < 0 || df.Target >= len(df.Stages) {
			t.Fatalf("Target %d out of %d stages", df.Target, len(df.Stages))
		}
		for k, l := range df.Labels {
			if l.Key != k || l.Line < 1 || l.Line > lines || l.Column < 0 {
				t.Errorf("label %q = %+v: outside the file's %d lines", k, l, lines)
			}
			for _, ln := range l.Lines {
				if ln < 1 || ln > lines {
					t.Errorf("label %q set on line %d of %d", k, ln, lines)
				}
			}
		}
		for _, c := range df.Copies {
			if c.Line < 1 || c.EndLine < c.Line || c.EndLine > lines {
				t.Errorf("copy %+v outside the file's %d lines", c, lines)
			}
		}
	})
}
