package source

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// nonEnvArgs are the ARGs BuildKit never puts in a stage's environment.
var nonEnvArgs = map[string]bool{"BUILDKIT_SBOM_SCAN_CONTEXT": true, "BUILDKIT_SBOM_SCAN_STAGE": true}

// dispatch follows stage i's instructions.
func (b *build) dispatch(i int) error {
	st := b.states[i]
	b.init(st)
	for _, cmd := range b.stages[i].Commands {
		if err := b.command(st, cmd); err != nil {
			return err
		}
	}
	return nil
}

// init starts a stage from its base: a stage's image and environment, or
// an image, of which only the platform is known.
func (b *build) init(st *state) {
	out := st.out
	if out.BaseStage >= 0 {
		parent := b.states[out.BaseStage]
		st.env, st.config, st.os = parent.env.clone(), parent.config.clone(), parent.os
		st.labels = maps.Clone(parent.labels)
		st.copies, st.runs = slices.Clone(parent.copies), slices.Clone(parent.runs)
		out.WorkDir, out.Shell = parent.out.WorkDir, slices.Clone(parent.out.Shell)
		out.Entrypoint, out.Cmd = slices.Clone(parent.out.Entrypoint), slices.Clone(parent.out.Cmd)
	} else {
		st.env, st.config, st.labels = newEnv(), newEnv(), map[string]*Label{}
		st.os = b.platformOS(out.Platform)
	}
	if _, ok := st.config.Get("PATH"); !ok && st.os != "windows" {
		st.config.set("PATH", defaultPath)
	}
	for _, k := range st.config.keys {
		st.env.set(k, st.config.vals[k])
	}
	out.Env = st.config.list()
}

// platformOS returns the OS of a FROM --platform value, else of the
// target platform.
func (b *build) platformOS(fromPlatform string) string {
	if fromPlatform != "" {
		os, _, _ := strings.Cut(strings.ToLower(fromPlatform), "/")
		return os
	}
	v, _ := b.global.Get("TARGETOS")
	return v
}

// command follows one instruction of a stage.
func (b *build) command(st *state, cmd instructions.Command) error {
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		return b.arg(st, c)
	case *instructions.LabelCommand:
		return b.label(st, c)
	}
	if err := b.expand(st, cmd); err != nil {
		return &Error{Line: line(cmd), Err: fmt.Errorf("expanding %s: %w", strings.ToUpper(cmd.Name()), err)}
	}
	out := st.out
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			st.env.set(kv.Key, kv.Value)
			st.config.set(kv.Key, kv.Value)
		}
		out.Env = st.config.list()
	case *instructions.WorkdirCommand:
		out.WorkDir = path.Join("/", out.WorkDir, c.Path)
		if path.IsAbs(c.Path) {
			out.WorkDir = path.Clean(c.Path)
		}
	case *instructions.CopyCommand:
		cp := b.newCopy(st, cmd, c.SourcesAndDest)
		cp.From = c.From
		if c.From != "" {
			cp.FromStage, _ = b.copyFrom(c.From) // checked by dependencies
		}
		st.addCopy(cp)
	case *instructions.AddCommand:
		cp := b.newCopy(st, cmd, c.SourcesAndDest)
		cp.Add = true
		st.addCopy(cp)
	case *instructions.RunCommand:
		st.addRun(newRun(st, c))
	case *instructions.CmdCommand:
		out.Cmd, out.CmdLine, st.cmdSet = st.withShell(c.ShellDependantCmdLine), line(c), true
	case *instructions.EntrypointCommand:
		out.Entrypoint, out.EntrypointLine = st.withShell(c.ShellDependantCmdLine), line(c)
		if !st.cmdSet {
			out.Cmd, out.CmdLine = nil, 0
		}
	case *instructions.ShellCommand:
		out.Shell = slices.Clone(c.Shell)
	}
	return nil
}

// expand expands an instruction's words in place, as BuildKit's dispatch
// does before it runs the instruction.
func (b *build) expand(st *state, cmd instructions.Command) error {
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		err := ex.Expand(func(word string) (string, error) {
			v, _, err := expand(b.lex, word, st.env)
			return v, err
		})
		if err != nil {
			return err
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		lex := shell.NewLex('\\')
		lex.SkipProcessQuotes = true
		return ex.ExpandRaw(func(word string) (string, error) {
			v, _, err := expand(lex, word, st.env)
			return v, err
		})
	}
	return nil
}

// arg follows an ARG in a stage, as BuildKit's dispatchArg: a build arg
// wins, else the default expanded, else the global ARG of the same name.
func (b *build) arg(st *state, c *instructions.ArgCommand) error {
	for _, kv := range c.Args {
		a := Arg{Name: kv.Key, Line: line(c)}
		if v, ok := b.opts.BuildArgs[kv.Key]; ok {
			a.Value, a.HasValue = v, true
		} else if kv.Value != nil {
			v, _, err := expand(b.lex, *kv.Value, st.env)
			if err != nil {
				return &Error{Line: a.Line, Err: fmt.Errorf("expanding ARG %s: %w", kv.Key, err)}
			}
			a.Value, a.HasValue = v, true
		} else if v, ok := b.global.Get(kv.Key); ok {
			a.Value, a.HasValue = v, true
		}
		if a.HasValue && !nonEnvArgs[a.Name] {
			st.env.set(a.Name, a.Value)
		}
		st.out.Args = append(st.out.Args, a)
	}
	return nil
}

// label follows a LABEL: every key and value is expanded with the
// environment before the instruction, then set.
func (b *build) label(st *state, c *instructions.LabelCommand) error {
	start, end := lineRange(c.Location())
	pos := b.keyPositions(start, end, c.Labels)
	var set []*Label
	for i, kv := range c.Labels {
		k, err := expandMatches(b.lex, kv.Key, st.env)
		if err != nil {
			return &Error{Line: pos[i].line, Err: fmt.Errorf("expanding LABEL key %s: %w", kv.Key, err)}
		}
		v, err := expandMatches(b.lex, kv.Value, st.env)
		if err != nil {
			return &Error{Line: pos[i].line, Err: fmt.Errorf("expanding LABEL %s: %w", kv.Key, err)}
		}
		unset := slices.Sorted(maps.Keys(k.Unmatched))
		for name := range v.Unmatched {
			if !slices.Contains(unset, name) {
				unset = append(unset, name)
			}
		}
		slices.Sort(unset)
		var blank []string
		for _, name := range unset {
			if blankReference(kv.Key+"="+kv.Value, name) {
				blank = append(blank, name)
			}
		}
		set = append(set, &Label{Key: k.Result, Value: v.Result, RawKey: kv.Key, RawValue: kv.Value,
			Stage: st.out.Index, Line: pos[i].line, Column: pos[i].column, Instruction: start, Unset: unset, Blank: blank})
	}
	for _, l := range set {
		st.labels[l.Key] = l
		st.out.Labels = append(st.out.Labels, l)
	}
	return nil
}

func (b *build) newCopy(st *state, cmd instructions.Command, sd instructions.SourcesAndDest) Copy {
	start, end := lineRange(cmd.Location())
	cp := Copy{Sources: slices.Clone(sd.SourcePaths), Dest: sd.DestPath, Dir: st.out.WorkDir,
		FromStage: -1, Stage: st.out.Index, Line: start, EndLine: end}
	for _, sc := range sd.SourceContents {
		cp.Inline = append(cp.Inline, Heredoc{Name: sc.Path, Body: sc.Data})
	}
	return cp
}

func newRun(st *state, c *instructions.RunCommand) Run {
	start, end := lineRange(c.Location())
	r := Run{Shell: c.PrependShell, Args: slices.Clone(c.CmdLine), Stage: st.out.Index, Line: start, EndLine: end}
	for _, f := range c.Files {
		r.Heredocs = append(r.Heredocs, Heredoc{Name: f.Name, Body: f.Data})
	}
	for _, m := range instructions.GetMounts(c) {
		if m.From != "" {
			r.MountsFrom = append(r.MountsFrom, m.From)
		}
	}
	return r
}

func (st *state) addCopy(c Copy) {
	st.out.Copies = append(st.out.Copies, c)
	st.copies = append(st.copies, c)
}

func (st *state) addRun(r Run) {
	st.out.Runs = append(st.out.Runs, r)
	st.runs = append(st.runs, r)
}

// withShell returns what the image config gets for a CMD or ENTRYPOINT: a
// shell form wrapped in the stage's SHELL, else /bin/sh -c (cmd /S /C on
// Windows).
func (st *state) withShell(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return slices.Clone(c.CmdLine)
	}
	sh := slices.Clone(st.out.Shell)
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
		if st.os == "windows" {
			sh = []string{"cmd", "/S", "/C"}
		}
	}
	return append(sh, strings.Join(c.CmdLine, " "))
}

// result fills in what the target stage's image gets.
func (b *build) result(df *Dockerfile) {
	target := b.states[df.Target]
	df.Labels = make(map[string]*Label, len(target.labels))
	for k, l := range target.labels {
		c := *l
		c.Lines = nil
		for _, own := range target.out.Labels {
			if own.Key == k {
				c.Lines = append(c.Lines, own.Line)
			}
		}
		df.Labels[k] = &c
	}
	df.Copies, df.Runs = target.copies, target.runs
	chain := map[int]bool{}
	for i := df.Target; i >= 0; i = b.states[i].out.BaseStage {
		chain[i] = true
	}
	for i, st := range b.states {
		if chain[i] {
			continue
		}
		for _, l := range st.out.Labels {
			if _, ok := df.Labels[l.Key]; !ok {
				df.StrayLabels = append(df.StrayLabels, StrayLabel{Key: l.Key, Stage: i, Line: l.Line})
			}
		}
	}
}

// list returns the environment as KEY=VALUE strings, in order.
func (e *env) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// line returns the first line of an instruction.
func line(c instructions.Command) int {
	start, _ := lineRange(c.Location())
	return start
}

// lineRange returns the first and last lines of a location.
func lineRange(rs []parser.Range) (start, end int) {
	for _, r := range rs {
		if start == 0 || r.Start.Line < start {
			start = r.Start.Line
		}
		end = max(end, r.End.Line)
	}
	return start, end
}

// blankReference reports whether s refers to the variable name in a way
// that expands to nothing when it is unset: $NAME, ${NAME}, or another
// ${NAME...} form than ${NAME:-default} and ${NAME-default}.
func blankReference(s, name string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], "$")
		if j < 0 {
			return false
		}
		rest := s[i+j+1:]
		i += j + 1
		braced := strings.HasPrefix(rest, "{")
		rest = strings.TrimPrefix(rest, "{")
		if !strings.HasPrefix(rest, name) {
			continue
		}
		after := rest[len(name):]
		switch {
		case !braced && (after == "" || !isNameChar(after[0])):
			return true
		case braced && strings.HasPrefix(after, "}"):
			return true
		case braced && (strings.HasPrefix(after, ":-") || strings.HasPrefix(after, "-")):
			continue // a default
		case braced && after != "" && !isNameChar(after[0]):
			return true // ${NAME:+x}, ${NAME#x} and the like
		}
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
