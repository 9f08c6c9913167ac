package source

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// build follows what BuildKit's dockerfile2llb does with the stages,
// without building: which values ARG, ENV and LABEL take, which stages the
// target needs, and what each stage's image config gets.
type build struct {
	lines  []string // the Dockerfile's lines; line n is lines[n-1]
	escape rune
	lex    *shell.Lex
	opts   DockerfileOptions
	// global are the automatic platform ARGs and the global ARGs.
	global *env
	stages []*instructions.Stage
	states []*state
	byName map[string]int
}

// state is one stage while it is followed, as BuildKit's dispatchState.
type state struct {
	out *Stage
	// env is what words are expanded with: the image config's ENV and
	// the ARGs with a value (BuildKit's llb.State environment).
	env *env
	// config is the image config's environment (ENV only).
	config *env
	os     string
	labels map[string]*Label
	// cmdSet says the stage itself set CMD (an ENTRYPOINT then keeps it).
	cmdSet bool
	// copies and runs include those of the stages it is built FROM.
	copies []Copy
	runs   []Run
	// deps are the stages the stage reads: its base, COPY --from and RUN
	// --mount from=.
	deps      []int
	reachable bool
	failed    bool
}

func newBuild(dt []byte, escape rune, opts DockerfileOptions) *build {
	text := strings.TrimPrefix(string(dt), "\uFEFF")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return &build{lines: lines, escape: escape, lex: shell.NewLex(escape), opts: opts, byName: map[string]int{}}
}

// run follows the stages and returns what the build makes of them.
func (b *build) run(stages []instructions.Stage, metaArgs []instructions.ArgCommand) (*Dockerfile, error) {
	targetName := b.opts.Target
	if targetName == "" {
		targetName = stages[len(stages)-1].Name
	}
	plat, err := newPlatformArgs(b.opts, targetName)
	if err != nil {
		return nil, err
	}
	df := &Dockerfile{EscapeToken: b.escape, lines: b.lines}
	if b.global, df.Args, err = b.metaArgs(plat, metaArgs); err != nil {
		return nil, err
	}
	for i := range stages {
		b.stages = append(b.stages, &stages[i])
		if err := b.from(i); err != nil {
			return nil, err
		}
	}
	if err := b.dependencies(); err != nil {
		return nil, err
	}
	if df.Target, err = b.target(); err != nil {
		return nil, err
	}
	b.markReachable(df.Target)
	for i, st := range b.states {
		if err := b.dispatch(i); err != nil {
			if st.reachable {
				return nil, err
			}
			st.failed = true // BuildKit never runs a stage the target does not need
		}
		df.Stages = append(df.Stages, st.out)
	}
	b.result(df)
	return df, nil
}

// metaArgs evaluates the global ARGs, as BuildKit's buildMetaArgs: a build
// arg wins, else the default expanded with the ARGs before it.
func (b *build) metaArgs(plat *env, cmds []instructions.ArgCommand) (*env, []Arg, error) {
	global := plat.clone()
	var args []Arg
	for _, c := range cmds {
		for _, kv := range c.Args {
			a := Arg{Name: kv.Key, Line: line(&c)}
			if v, ok := b.opts.BuildArgs[kv.Key]; ok {
				a.Value, a.HasValue = v, true
			} else if kv.Value != nil {
				v, _, err := expand(b.lex, *kv.Value, global)
				if err != nil {
					return nil, nil, &Error{Line: a.Line, Err: fmt.Errorf("expanding ARG %s: %w", kv.Key, err)}
				}
				a.Value, a.HasValue = v, true
			}
			if a.HasValue {
				global.set(a.Name, a.Value)
			}
			args = append(args, a)
		}
	}
	return global, args, nil
}

// from reads stage i's FROM line: its base and platform, expanded with the
// global ARGs, and whether the base is an earlier stage.
func (b *build) from(i int) error {
	st := b.stages[i]
	ln, end := lineRange(st.Location)
	out := &Stage{Index: i, Name: st.Name, RawBase: st.BaseName, BaseStage: -1, Line: ln, EndLine: end, WorkDir: "/"}
	base, _, err := expand(b.lex, st.BaseName, b.global)
	if err != nil {
		return &Error{Line: ln, Err: fmt.Errorf("expanding the base of FROM %s: %w", st.BaseName, err)}
	}
	if base == "" {
		return &Error{Line: ln, Err: fmt.Errorf("reading FROM: the base name (%s) is blank", st.BaseName)}
	}
	out.Base = base
	if st.Platform != "" {
		p, _, err := expand(b.lex, st.Platform, b.global)
		if err != nil {
			return &Error{Line: ln, Err: fmt.Errorf("expanding FROM --platform=%s: %w", st.Platform, err)}
		}
		if p == "" {
			return &Error{Line: ln, Err: fmt.Errorf("reading FROM: the platform (%s) is blank", st.Platform)}
		}
		out.Platform = p
	}
	if parent, ok := b.byName[base]; ok {
		out.BaseStage = parent
	}
	if st.Name != "" {
		b.byName[strings.ToLower(st.Name)] = i
	}
	b.states = append(b.states, &state{out: out})
	return nil
}

// dependencies records which stages each stage reads, and refuses a
// COPY --from that BuildKit refuses.
func (b *build) dependencies() error {
	for i, st := range b.states {
		if st.out.BaseStage >= 0 {
			st.deps = append(st.deps, st.out.BaseStage)
		}
		for _, cmd := range b.stages[i].Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From == "" {
					continue
				}
				dep, err := b.copyFrom(c.From)
				if err != nil {
					return &Error{Line: line(c), Err: fmt.Errorf("reading COPY --from=%s: %w", c.From, err)}
				}
				if dep >= 0 {
					st.deps = append(st.deps, dep)
				}
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					if dep, ok := b.byName[strings.ToLower(m.From)]; ok && m.From != "" {
						st.deps = append(st.deps, dep)
					}
				}
			}
		}
	}
	return nil
}

// copyFrom returns the stage a COPY --from value names, by name or index,
// or -1 for an image.
func (b *build) copyFrom(from string) (int, error) {
	res, err := expandMatches(b.lex, from, newEnv())
	if err != nil {
		return -1, err
	}
	if res.Result != from {
		return -1, errors.New("variable expansion is not supported for --from")
	}
	if i, err := strconv.Atoi(from); err == nil {
		if i < 0 || i >= len(b.states) {
			return -1, fmt.Errorf("invalid stage index %d", i)
		}
		return i, nil
	}
	if i, ok := b.byName[strings.ToLower(from)]; ok {
		return i, nil
	}
	return -1, nil
}

// target returns the index of the stage built.
func (b *build) target() (int, error) {
	if b.opts.Target == "" {
		return len(b.states) - 1, nil
	}
	i, ok := b.byName[strings.ToLower(b.opts.Target)]
	if !ok {
		return 0, &Error{Err: fmt.Errorf("reading the target: stage %q is not in the Dockerfile (stages: %s)",
			b.opts.Target, strings.Join(b.stageNames(), ", "))}
	}
	return i, nil
}

func (b *build) stageNames() []string {
	names := slices.Collect(maps.Keys(b.byName))
	slices.Sort(names)
	return names
}

func (b *build) markReachable(i int) {
	st := b.states[i]
	if st.reachable {
		return
	}
	st.reachable = true
	for _, d := range st.deps {
		b.markReachable(d)
	}
}

// expand expands word with the shell lexer lex and env, as BuildKit does,
// returning the names it found no value for.
func expand(lex *shell.Lex, word string, env shell.EnvGetter) (string, map[string]struct{}, error) {
	res, err := expandMatches(lex, word, env)
	return res.Result, res.Unmatched, err
}

// expandMatches is expand with the names that had a value too. A word the
// lexer would complain about on stderr is refused instead.
func expandMatches(lex *shell.Lex, word string, env shell.EnvGetter) (shell.ProcessWordResult, error) {
	if err := checkWord(word); err != nil {
		return shell.ProcessWordResult{}, err
	}
	return lex.ProcessWordWithMatches(word, env)
}
