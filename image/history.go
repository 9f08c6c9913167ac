package image

import (
	"context"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The config's history says which build step made each layer. Layers are
// read top-down until every wanted path is decided, so whether the read
// goes on past a layer is only known once it has been read: a request sent
// ahead for the layer below may bring bytes nobody reads. The history lets
// the reads guess better: a layer that a RUN step made, whose command names
// none of the wanted paths, very likely decides none of them (plugin files
// come from COPY and ADD), so the read will go on past it and the requests
// for the layers below it are worth sending at once. The history is only a
// hint for sending requests early: what is read, and every answer, is the
// same with or without it.

// layerSteps returns, per layer of m (bottom first), the created_by of the
// history entry that made it, or nil when the config cannot say (no
// history, or not one entry per layer: some tools write none, or one per
// image). A config nobody asked for is not fetched (a question about files
// alone reads no config). One being fetched (for the labels, beside the
// first layer read) is waited for if wait is set (after that read: the
// config comes about when it ends), else not.
func (v *Variant) layerSteps(ctx context.Context, m *v1.Manifest, wait bool) []string {
	if !v.configRead.Load() && (!wait || !v.configAsked.Load()) {
		return nil
	}
	v.stepsOnce.Do(func() {
		cf, err := v.Config(ctx)
		if err != nil || cf == nil {
			return
		}
		var steps []string
		for _, h := range cf.History {
			if !h.EmptyLayer {
				steps = append(steps, h.CreatedBy)
			}
		}
		if len(steps) == len(m.Layers) {
			v.steps = steps
		}
	})
	return v.steps
}

// runCommand returns the shell command of a layer made by a RUN step, as
// the builders record it: BuildKit "RUN /bin/sh -c CMD # buildkit", kaniko
// "RUN CMD", the classic builder and buildah "/bin/sh -c CMD" or
// "|2 A=1 B=2 /bin/sh -c CMD" (their other steps are "/bin/sh -c #(nop)
// COPY ..."). It returns false for any other step, or one it cannot tell.
func runCommand(createdBy string) (string, bool) {
	s := strings.TrimSpace(createdBy)
	if rest, ok := strings.CutPrefix(s, "RUN "); ok {
		rest = strings.TrimSuffix(rest, " # buildkit")
		if _, cmd, ok := shellCommand(rest); ok {
			return cmd, true
		}
		return rest, true // exec form, or kaniko's line as written
	}
	if nop, cmd, ok := shellCommand(s); ok && !nop {
		return cmd, true
	}
	return "", false
}

// shellCommand returns the command of "/bin/sh -c CMD" or "|N A=1 ...
// /bin/sh -c CMD" (build arguments before it), and whether CMD is the
// classic builder's "#(nop)" of a step that ran nothing.
func shellCommand(s string) (nop bool, cmd string, ok bool) {
	if strings.HasPrefix(s, "|") {
		// Build arguments of a classic RUN: "|N" and N assignments.
		if _, rest, ok := strings.Cut(s, " /bin/sh -c "); ok {
			s = "/bin/sh -c " + rest
		}
	}
	rest, ok := strings.CutPrefix(s, "/bin/sh -c ")
	if !ok {
		return false, "", false
	}
	return strings.HasPrefix(strings.TrimSpace(rest), "#(nop)"), rest, true
}

// passesOver reports that a layer made by a RUN step with this command is
// unlikely to decide any of paths: the command names none of their
// components as a word (a name bounded by characters that cannot be in
// it). A command that names one (it may write "/linux/kubectl" for a host
// binary) is taken to decide it.
func passesOver(cmd string, paths []string) bool {
	for _, p := range paths {
		for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
			if c != "" && namesWord(cmd, c) {
				return false
			}
		}
	}
	return true
}

// namesWord reports whether w occurs in s with no name character (letter,
// digit, '.', '_', '-') right before or after it.
func namesWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !nameByte(s[start-1])) && (end == len(s) || !nameByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func nameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
}
