package worker

import (
	"encoding/json"
	"testing"
)

func TestCopyAt(t *testing.T) {
	const live = `{"spec":{"replicas":5,"template":{"metadata":{"annotations":{"a/b":"x"}}},
		"containers":[{"name":"c","image":"live"}],"strategy":{"type":"Recreate"}}}`
	for _, tc := range []struct {
		name, desired, pointer, want string
	}{
		{"scalar taken from live", `{"spec":{"replicas":2}}`, "/spec/replicas", `{"spec":{"replicas":5}}`},
		{"missing in desired is added", `{"spec":{}}`, "/spec/replicas", `{"spec":{"replicas":5}}`},
		{"objects on the way are created with the path only", `{"spec":{"replicas":2}}`,
			"/spec/template/metadata/annotations/a~1b",
			`{"spec":{"replicas":2,"template":{"metadata":{"annotations":{"a/b":"x"}}}}}`},
		{"live lacks the field: rendered value stays", `{"spec":{"paused":true}}`, "/spec/paused", `{"spec":{"paused":true}}`},
		{"list item in both", `{"spec":{"containers":[{"name":"c","image":"git"}]}}`, "/spec/containers/0/image",
			`{"spec":{"containers":[{"name":"c","image":"live"}]}}`},
		{"list item desired lacks is left", `{"spec":{}}`, "/spec/containers/0/image", `{"spec":{}}`},
		{"whole object is not copied", `{"spec":{"replicas":2}}`, "", `{"spec":{"replicas":2}}`},
		{"subtree copied", `{"spec":{"strategy":{"type":"RollingUpdate"}}}`, "/spec/strategy", `{"spec":{"strategy":{"type":"Recreate"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var src, dst map[string]any
			if err := json.Unmarshal([]byte(live), &src); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.desired), &dst); err != nil {
				t.Fatal(err)
			}
			copyAt(dst, src, tc.pointer)
			got, _ := json.Marshal(dst)
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(want)
			if string(got) != string(wantJSON) {
				t.Errorf("copyAt(%s) = %s, want %s", tc.pointer, got, wantJSON)
			}
		})
	}
}
