package githubapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, apiURL, token, tokenName string
		wantBase, wantErr              string
	}{
		{"GitHub.com", "", "t", "", "https://api.github.com/", ""},
		{"GitHub Enterprise Server", "https://ghes.example.com/api/v3", "t", "", "https://ghes.example.com/api/v3/", ""},
		{"GitHub Enterprise Server without /api/v3", "https://ghes.example.com", "t", "", "https://ghes.example.com/api/v3/", ""},
		{"loopback over http", "http://127.0.0.1:8080/api/v3", "t", "", "http://127.0.0.1:8080/api/v3/", ""},
		{"token over plain http", "http://ghes.example.com/api/v3", "t", "github-token", "",
			`GitHub API URL "http://ghes.example.com/api/v3": refusing to send github-token over plain http`},
		{"default token name", "http://ghes.example.com/api/v3", "t", "", "", "refusing to send the token over plain http"},
		{"no token over plain http", "http://ghes.example.com/api/v3", "", "", "http://ghes.example.com/api/v3/", ""},
		{"not a URL", "ftp://x", "t", "", "", `GitHub API URL "ftp://x" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gh, err := NewClient(Config{APIURL: tt.apiURL, Token: tt.token, TokenName: tt.tokenName})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("NewClient() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := gh.BaseURL.String(); got != tt.wantBase {
				t.Errorf("BaseURL = %q, want %q", got, tt.wantBase)
			}
		})
	}
}

func duration(d time.Duration) *time.Duration { return &d }

func TestAnswer(t *testing.T) {
	t.Parallel()
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Request: &http.Request{}} }
	for _, tt := range []struct {
		name string
		err  error
		code int
		text string
		ok   bool
	}{
		{"refused", &github.ErrorResponse{Response: resp(403), Message: "Resource not accessible by integration"}, 403, "403 Resource not accessible by integration", true},
		{"no message", &github.ErrorResponse{Response: resp(502)}, 502, "502 Bad Gateway", true},
		{"rate limit", &github.RateLimitError{Response: resp(403), Message: "API rate limit exceeded"}, 403, "403 API rate limit exceeded", true},
		{"network", errors.New("dial tcp: connection refused"), 0, "", false},
	} {
		code, text, ok := Answer(tt.err)
		if code != tt.code || text != tt.text || ok != tt.ok {
			t.Errorf("%s: Answer() = %d, %q, %v, want %d, %q, %v", tt.name, code, text, ok, tt.code, tt.text, tt.ok)
		}
	}
	if IsStatus(&github.RateLimitError{Response: resp(403)}, 403) {
		t.Error("IsStatus() takes a rate limit for an error answer")
	}
}

// TestRetry: a rate limit that resets within the deadline is waited out;
// one that resets after it is not.
func TestRetry(t *testing.T) {
	t.Parallel()
	limited := &github.AbuseRateLimitError{Response: &http.Response{StatusCode: 403, Request: &http.Request{}}, RetryAfter: duration(10 * time.Millisecond)}
	calls := 0
	err := Retry(context.Background(), func() (*github.Response, error) {
		if calls++; calls < 3 {
			return nil, limited
		}
		return nil, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("Retry() = %v after %d calls, want nil after 3", err, calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	long := &github.AbuseRateLimitError{Response: limited.Response, RetryAfter: duration(time.Hour)}
	calls = 0
	if err := Retry(ctx, func() (*github.Response, error) { calls++; return nil, long }); err != error(long) || calls != 1 {
		t.Errorf("Retry() = %v after %d calls, want the refusal after 1", err, calls)
	}
}
