package pushhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSignatures checks each provider's headers against the payload
// actually sent, the way each host documents verification.
func TestSignatures(t *testing.T) {
	const secret = "s3cret"
	got := map[string]*http.Request{}
	bodies := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got[r.URL.Path], bodies[r.URL.Path] = r, b
	}))
	defer srv.Close()
	p := Push{CloneURL: "http://git.local/org/apps.git", Ref: "refs/heads/main", Before: ZeroSHA, After: "abc", Pusher: "dev"}
	for _, prov := range []string{GitHub, Gitea, GitLab} {
		if err := Send(context.Background(), srv.Client(), prov, srv.URL+"/"+prov, secret, p); err != nil {
			t.Fatal(err)
		}
	}
	mac := func(b []byte) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	if h := got["/github"].Header.Get("X-Hub-Signature-256"); h != "sha256="+mac(bodies["/github"]) {
		t.Errorf("github signature %q", h)
	}
	if h := got["/gitea"].Header.Get("X-Gitea-Signature"); h != mac(bodies["/gitea"]) {
		t.Errorf("gitea signature %q", h)
	}
	if h := got["/gitlab"].Header.Get("X-Gitlab-Token"); h != secret {
		t.Errorf("gitlab token %q", h)
	}
	var gitea struct {
		Repository struct {
			CreatedAt string `json:"created_at"`
			FullName  string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(bodies["/gitea"], &gitea); err != nil || gitea.Repository.CreatedAt == "" || gitea.Repository.FullName != "org/apps" {
		t.Errorf("gitea body: %v %+v", err, gitea)
	}
}

func TestSendFailsOnNon2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	defer srv.Close()
	err := Send(context.Background(), srv.Client(), GitHub, srv.URL, "x", Push{CloneURL: "http://h/o/r.git"})
	if err == nil {
		t.Fatal("want error for 401")
	}
}
