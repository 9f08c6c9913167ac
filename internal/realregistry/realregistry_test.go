package realregistry

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStartBasicAuth(t *testing.T) {
	t.Parallel()
	host := Start(t, "alice", "correct horse")
	rec, proxy := Record(t, host)

	tests := []struct {
		name          string
		user, pass    string
		noAuth        bool
		wantStatus    int
		wantChallenge string
	}{
		{name: "no credentials", noAuth: true, wantStatus: http.StatusUnauthorized, wantChallenge: `Basic realm="realregistry"`},
		{name: "wrong password", user: "alice", pass: "wrong", wantStatus: http.StatusUnauthorized, wantChallenge: `Basic realm="realregistry"`},
		{name: "unknown user", user: "bob", pass: "correct horse", wantStatus: http.StatusUnauthorized, wantChallenge: `Basic realm="realregistry"`},
		{name: "right password", user: "alice", pass: "correct horse", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, h := range []string{host, proxy} {
				resp := ping(t, h, tt.user, tt.pass, !tt.noAuth)
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("GET http://%s/v2/ = %d, want %d", h, resp.StatusCode, tt.wantStatus)
				}
				if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
					t.Errorf("GET http://%s/v2/ WWW-Authenticate = %q, want %q", h, got, tt.wantChallenge)
				}
			}
		})
	}
	t.Cleanup(func() {
		// Each case asked the proxy once.
		var want []Request
		for range tests {
			want = append(want, Request{Method: http.MethodGet, Path: "/v2/"})
		}
		if diff := cmp.Diff(want, rec.Requests()); diff != "" {
			t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
		}
	})
}

// ping sends GET /v2/ to host, with basic auth when auth is set, and
// returns the answer (its body closed).
func ping(t *testing.T, host, user, pass string, auth bool) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
