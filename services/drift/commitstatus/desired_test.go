package commitstatus

import (
	"testing"

	"google.golang.org/protobuf/proto"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

func TestDecodeDesiredHeadMatchesProto(t *testing.T) {
	full := &ferryv1.DesiredState{
		App: "guestbook", Cluster: "prod", Namespace: "gb", Revision: "abc", RepoUrl: "https://github.com/org/apps",
		Path: "guestbook", Ref: "main", PushId: "p", Digest: "sha256:00", Manifests: []byte("kind: x\n"),
		Sync: &ferryv1.SyncPolicy{Automated: true, SelfHeal: true}, Tool: "plain", RenderedUnixNano: 42,
		Deleted: true, ReceivedUnixNano: 7,
	}
	data, err := proto.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	h, err := decodeDesiredHead(data)
	if err != nil {
		t.Fatal(err)
	}
	want := desiredHead{App: "guestbook", Cluster: "prod", Revision: "abc", RepoURL: "https://github.com/org/apps", Deleted: true}
	if h != want {
		t.Errorf("got %+v, want %+v", h, want)
	}
	if _, err := decodeDesiredHead(data[:len(data)-2]); err == nil {
		t.Error("truncated message decoded without error")
	}
}

func FuzzDecodeDesiredHead(f *testing.F) {
	data, _ := proto.Marshal(&ferryv1.DesiredState{App: "a", Cluster: "c", Revision: "r", RepoUrl: "u", Manifests: []byte("m")})
	f.Add(data)
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeDesiredHead(b)
		if err != nil {
			return
		}
		var ds ferryv1.DesiredState
		if proto.Unmarshal(b, &ds) == nil && (ds.GetApp() != h.App || ds.GetCluster() != h.Cluster || ds.GetRevision() != h.Revision) {
			t.Errorf("head %+v disagrees with proto %v/%v/%v", h, ds.GetApp(), ds.GetCluster(), ds.GetRevision())
		}
	})
}
