package action

import (
	"encoding/json"
	"io"
	"os"
	"strings"
)

// maxEventBytes caps the event payload read (GitHub's are well under).
const maxEventBytes = 16 << 20

// Event is what the run's event payload (GITHUB_EVENT_PATH) says about the
// pull request it is for.
type Event struct {
	// PullRequest is the pull request's number, 0 when the payload is not
	// a pull request's (a push, a tag, workflow_dispatch).
	PullRequest int
	// HeadSHA is the pull request's head commit (GITHUB_SHA is the merge
	// commit GitHub made for the run).
	HeadSHA string
	// HeadRepo and BaseRepo are the full names (OWNER/NAME) of the pull
	// request's head and base repositories; HeadRepo is "" when the head
	// repository was deleted.
	HeadRepo, BaseRepo string
	// HeadFork says that the head repository is a fork.
	HeadFork bool
}

// eventPayload is the part of an event payload that Event reads.
type eventPayload struct {
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA  string `json:"sha"`
			Repo *struct {
				FullName string `json:"full_name"`
				Fork     bool   `json:"fork"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
}

// ReadEvent reads the event payload. It returns nil when there is none, it
// cannot be read, or it is not a pull request's (pull_request,
// pull_request_target and the other events about one pull request).
func ReadEvent(getenv func(string) string) *Event {
	p := getenv("GITHUB_EVENT_PATH")
	if p == "" {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ev eventPayload
	if err := json.NewDecoder(io.LimitReader(f, maxEventBytes)).Decode(&ev); err != nil || ev.PullRequest == nil {
		return nil
	}
	pr := ev.PullRequest
	e := &Event{PullRequest: pr.Number, HeadSHA: pr.Head.SHA}
	if pr.Head.Repo != nil {
		e.HeadRepo, e.HeadFork = pr.Head.Repo.FullName, pr.Head.Repo.Fork
	}
	if pr.Base.Repo != nil {
		e.BaseRepo = pr.Base.Repo.FullName
	}
	return e
}

// ForkReason says why the pull request comes from a fork (its token is
// read-only, its secrets absent), or "" when it does not or e is nil.
func (e *Event) ForkReason() string {
	switch {
	case e == nil:
		return ""
	case e.HeadRepo == "":
		return "the pull request's head repository was deleted"
	case e.HeadFork || (e.BaseRepo != "" && !strings.EqualFold(e.HeadRepo, e.BaseRepo)):
		return "the run comes from a pull request of the fork " + e.HeadRepo
	}
	return ""
}
