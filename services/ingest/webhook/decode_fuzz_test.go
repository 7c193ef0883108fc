package webhook

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeMatchesEncodingJSON: decode, which uses the faster v1 API of
// go-json-experiment/json, accepts and rejects the same bodies as
// encoding/json and fills every parser's struct identically.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, name := range []string{"github-push.json", "github-tag.json", "github-delete.json", "github-ping.json",
		"gitlab-push.json", "gitlab-tag.json", "gitea-push.json", "gitea-truncated.json",
		"bitbucket-push.json", "bitbucket-push-sample.json"} {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"commits":null}`, `{"REF":"a","Ref":"b"}`, `{"ref":"a","ref":"b"}`,
		"{\"ref\":\"\xff\"}", `{"ref":"\ud800"}`, `{"ref":1,"after":"x"}`, `{"commits":[{"id":1},{"id":"b"}]}`, `{"ref":"a"} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range []func() any{
			func() any { return new(hubPush) }, func() any { return new(gitlabPush) }, func() any { return new(bitbucketPush) },
		} {
			want, got := newV(), newV()
			werr, gerr := json.Unmarshal(body, want), decodeJSON(body, got)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%T: encoding/json error %v, decode error %v", want, werr, gerr)
			}
			if werr == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("%T differs:\nencoding/json %+v\ndecode        %+v", want, want, got)
			}
		}
	})
}
