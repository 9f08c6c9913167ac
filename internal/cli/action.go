package cli

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/docker/desktop-plugin-check/internal/action"
	"github.com/docker/desktop-plugin-check/internal/action/workflow"
	"github.com/docker/desktop-plugin-check/source"
)

// actionOptions turns the Action's inputs into options, as if they were
// flags. The settings are returned even with an error, so that the run
// can still leave its outputs and summary.
func actionOptions(getenv func(string) string, stderr io.Writer) (*options, *action.Settings, error) {
	st, err := action.Read(getenv)
	if err != nil {
		return nil, st, err
	}
	o, err := parseArgs(st.Args, stderr)
	if err != nil {
		return nil, st, err
	}
	o.username, o.password = st.Username, st.Password
	o.push.username, o.push.password = st.PushUsername, st.PushPassword // issue 13
	o.allowlist.cfg.Token = st.AllowlistToken
	o.workDir = st.WorkDir
	return o, st, nil
}

// maskSecrets tells the runner to hide secrets in the log, before anything
// else is printed.
func maskSecrets(w io.Writer, secrets []string) {
	cw := workflow.New(w)
	for _, s := range secrets {
		cw.Mask(s)
	}
}

// resolve makes a relative path relative to the repository root.
func resolve(workDir, p string) string {
	if workDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(workDir, p)
}

// resolveSource makes a local source's path relative to the repository root.
func resolveSource(workDir, src string) string {
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:"} {
		if rest, ok := strings.CutPrefix(src, prefix); ok {
			return prefix + resolve(workDir, rest)
		}
	}
	return src
}

// maxSourceFile caps the repository files read to place findings.
const maxSourceFile = 1 << 20

// readSources reads the Dockerfile and metadata.json the findings point
// into. Sources is never nil: SARIF results need a file even when the
// repository has neither (upload-sarif rejects results without a location).
func readSources(o *options) *source.Sources {
	read := func(p string) []byte {
		// Through the workspace's os.Root (no symlink out of it, no FIFO).
		f, err := openInWorkDir(o.workDir, p)
		if err != nil {
			return nil
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSourceFile))
		if err != nil {
			return nil
		}
		return b
	}
	s := &source.Sources{DockerfilePath: filepath.ToSlash(o.dockerfile), MetadataPath: filepath.ToSlash(o.metadataFile)}
	s.Dockerfile, s.Metadata = read(o.dockerfile), read(o.metadataFile)
	return s
}
