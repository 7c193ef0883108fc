package natsconn

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://admin:s3cret@nats:4222":                   "nats://admin:xxxxx@nats:4222",
		"nats://tok3n@nats:4222":                          "nats://xxxxx@nats:4222",
		"nats://a:p1@h1:4222, nats://b:p2@h2:4222":        "nats://a:xxxxx@h1:4222,nats://b:xxxxx@h2:4222",
		"nats://127.0.0.1:4222":                           "nats://127.0.0.1:4222",
		"admin:s3cret@nats:4222":                          "xxxxx@nats:4222",
		"tls://nats.example.com:4222,nats://u:p%40ss@h:1": "tls://nats.example.com:4222,nats://u:xxxxx@h:1",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasUserInfo(t *testing.T) {
	for in, want := range map[string]bool{
		"nats://admin:s3cret@nats:4222":     true,
		"nats://h1:4222,nats://tok@h2:4222": true,
		"nats://127.0.0.1:4222":             false,
		"admin:pw@host:4222":                true,
		"":                                  false,
	} {
		if got := HasUserInfo(in); got != want {
			t.Errorf("HasUserInfo(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzRedactURL: whatever the server list, a password in it is never in
// the redacted form.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"nats://admin:s3cret@nats:4222", "nats://tok@h", "a:b@c", "nats://h:1,nats://u:p@h2:2", "nats://[::1]:4222", "%zz@"} {
		f.Add(s, "s3cretpw")
	}
	f.Fuzz(func(t *testing.T, prefix, pw string) {
		if len(pw) < 6 || strings.ContainsAny(pw, "@:/,?#%[] \t\n") || strings.Contains(redacted, pw) {
			return
		}
		s := "nats://user:" + pw + "@" + prefix
		out := RedactURL(prefix + "," + s)
		if strings.Contains(out, ":"+pw+"@") && !strings.Contains(prefix, pw) {
			t.Errorf("RedactURL kept the password %q: %q", pw, out)
		}
		if !HasUserInfo(s) {
			t.Errorf("HasUserInfo(%q) = false", s)
		}
	})
}
