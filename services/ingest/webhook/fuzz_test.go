package webhook

import (
	"testing"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// fuzzParser seeds f with fixtures and checks that parse never panics and
// that whatever it accepts is a complete event.
func fuzzParser(f *testing.F, parse func([]byte) ([]*ferryv1.PushEvent, error), fixtures ...string) {
	for _, name := range fixtures {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"commits":null}`, "payload=%7B%7D", `{"push":{"changes":[{}]}}`, `{"ref":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := parse(body)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			t.Fatal("no error and no events")
		}
		for _, ev := range evs {
			if err := validate(ev); err != nil {
				t.Fatalf("accepted an invalid event: %v", err)
			}
		}
	})
}

func FuzzParseGitHub(f *testing.F) {
	fuzzParser(f, parseGitHub, "github-push.json", "github-tag.json", "github-delete.json", "github-ping.json")
}

func FuzzParseGitLab(f *testing.F) {
	fuzzParser(f, parseGitLab, "gitlab-push.json", "gitlab-tag.json")
}

func FuzzParseGitea(f *testing.F) {
	fuzzParser(f, parseGitea, "gitea-push.json", "gitea-truncated.json")
}

func FuzzParseBitbucket(f *testing.F) {
	fuzzParser(f, parseBitbucket, "bitbucket-push.json", "bitbucket-push-sample.json")
}
