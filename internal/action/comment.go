package action

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/internal/githubapi"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-github/v60/github"
)

const (
	// maxCommentChars caps a comment's body (GitHub refuses longer ones).
	maxCommentChars = 65536
	// commentOwnBudget is what the body keeps for the marker and the
	// footer after the report.
	commentOwnBudget = 4 << 10
	// maxCommentPages caps the pages of comments read to find the run's
	// own (100 comments each).
	maxCommentPages = 100
)

// commentMarker starts the body of the run's pull-request comment, hidden
// when GitHub renders it: later runs find the comment by it and edit it.
// The check's name (input check-name) is part of it, so that two jobs that
// check two images keep one comment each. Every byte of the name outside
// [A-Za-z0-9._ ] is percent-encoded, so it can never end the HTML comment.
func commentMarker(checkName string) string {
	var b strings.Builder
	for i := 0; i < len(checkName); i++ {
		c := checkName[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._ ", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return "<!-- desktop-plugin-check: pr-comment check=" + b.String() + " -->"
}

// commentBody is the comment: the marker, the report (result, findings,
// platforms, upgrade impact) within GitHub's limit, and a footer that
// links the check run and the workflow run.
func (s *prStatus) commentBody(st *Settings, rep *report.Report, runErr error) string {
	var b bytes.Buffer
	b.WriteString(commentMarker(st.CheckName) + "\n")
	if rep == nil {
		b.WriteString(couldNotRun(runErr))
	} else if err := report.MarkdownWithin(&b, rep, maxCommentChars-commentOwnBudget); err != nil {
		b.WriteString("The report could not be rendered: the job summary has it.\n")
	}
	var links []string
	if u, ok := markdownURL(st.CheckRunURL); ok {
		links = append(links, "[check run "+escape.MarkdownCell(st.CheckName)+"]("+u+")")
	}
	if u, ok := markdownURL(s.runURL); ok {
		links = append(links, "[workflow run]("+u+")")
	}
	foot := "\n<sub>desktop-plugin-check on commit " + s.sha[:min(len(s.sha), 12)]
	if len(links) > 0 {
		foot += ": " + strings.Join(links, " · ")
	}
	b.WriteString(foot + ". Every run edits this comment.</sub>\n")
	return escape.Clip(b.String(), maxCommentChars)
}

// markdownURL returns an http(s) URL as a link destination, in angle
// brackets; ok is false for anything else.
func markdownURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsAny(raw, "<>\\ \t\r\n") {
		return "", false
	}
	return "<" + raw + ">", true
}

// writeComment creates the run's pull-request comment, or edits the one an
// earlier run made, and returns its URL.
func (s *prStatus) writeComment(ctx context.Context, st *Settings, rep *report.Report, runErr error) (string, error) {
	gh, err := s.client()
	if err != nil {
		return "", err
	}
	body := &github.IssueComment{Body: github.String(s.commentBody(st, rep, runErr))}
	ids, err := s.findComments(ctx, gh, commentMarker(st.CheckName))
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		var c *github.IssueComment
		err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
			c, r, err = gh.Issues.EditComment(ctx, s.owner, s.repo, id, body)
			return r, err
		})
		switch {
		case err == nil:
			return c.GetHTMLURL(), nil
		case githubapi.IsStatus(err, http.StatusForbidden), githubapi.IsStatus(err, http.StatusNotFound):
			// Another app's comment (or one deleted meanwhile): not ours
			// to edit.
			continue
		}
		return "", err
	}
	var c *github.IssueComment
	err = githubapi.Retry(ctx, func() (r *github.Response, err error) {
		c, r, err = gh.Issues.CreateComment(ctx, s.owner, s.repo, s.pr, body)
		return r, err
	})
	if err != nil {
		return "", err
	}
	return c.GetHTMLURL(), nil
}

// actionsBot is the author of what GITHUB_TOKEN writes.
const actionsBot = "github-actions[bot]"

// findComments returns the IDs of the comments an earlier run may have made,
// to edit the first that the token may edit: those whose body starts with
// the marker and whose author is the token's. For a personal access token
// that is its user (GET /user), one comment at most. GITHUB_TOKEN and GitHub
// App tokens, which GET /user refuses, write as a bot, and which bot cannot
// be asked: every bot's comment with the marker, GitHub Actions' first (an
// edit of another app's comment is refused, and the next is tried). A
// comment a user wrote with the marker is never edited.
func (s *prStatus) findComments(ctx context.Context, gh *github.Client, marker string) ([]int64, error) {
	self, err := s.tokenUser(ctx, gh)
	if err != nil {
		return nil, err
	}
	var actions, bots []int64
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for page := 1; page <= maxCommentPages; page++ {
		var cs []*github.IssueComment
		var resp *github.Response
		err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
			cs, r, err = gh.Issues.ListComments(ctx, s.owner, s.repo, s.pr, opts)
			resp = r
			return r, err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			u := c.GetUser()
			if !strings.HasPrefix(c.GetBody(), marker) {
				continue
			}
			switch {
			case self != "" && strings.EqualFold(u.GetLogin(), self):
				return []int64{c.GetID()}, nil
			case self == "" && u.GetType() == "Bot" && strings.EqualFold(u.GetLogin(), actionsBot):
				actions = append(actions, c.GetID())
			case self == "" && u.GetType() == "Bot":
				bots = append(bots, c.GetID())
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	ids := append(actions, bots...)
	return ids[:min(len(ids), maxCommentEdits)], nil
}

// maxCommentEdits bounds the edits tried before a new comment is made.
const maxCommentEdits = 4

// tokenUser returns the login of the user a personal access token belongs
// to, "" for an installation token (GITHUB_TOKEN, a GitHub App's), which
// GitHub refuses GET /user.
func (s *prStatus) tokenUser(ctx context.Context, gh *github.Client) (string, error) {
	var u *github.User
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		u, r, err = gh.Users.Get(ctx, "")
		return r, err
	})
	switch {
	case err == nil:
		return u.GetLogin(), nil
	case githubapi.IsStatus(err, http.StatusForbidden), githubapi.IsStatus(err, http.StatusNotFound):
		return "", nil
	}
	return "", err
}
