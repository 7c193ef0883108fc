package cli

import (
	"encoding/base64"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDriftedApp: after out-of-band edits (self-heal is off) get apps
// and status say the app drifted, and diff shows the drifted field and
// the changed Secret key without its values.
func TestDriftedApp(t *testing.T) {
	a := newApp(t, "drifty")
	sha, _ := a.push(t, a.files("hello", nil), "Add drifty")
	synced(t, a.name, sha)

	ctx := t.Context()
	cm, err := kube.CoreV1().ConfigMaps(a.name).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["greeting"] = "hacked"
	if _, err := kube.CoreV1().ConfigMaps(a.name).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	sec, err := kube.CoreV1().Secrets(a.name).Get(ctx, "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte("live-password")
	if _, err := kube.CoreV1().Secrets(a.name).Update(ctx, sec, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	waitApp(t, a.name, "drift reported", func(a appJSON) bool { return a.Apps[0].Drifted })

	if r := row(t, ok(t, "get", "apps", a.name), a.name, clusterName); r[5] != "yes" || r[3] != "Synced" {
		t.Errorf("get apps row %v, want Synced and DRIFT yes", r)
	}
	status := ok(t, "status", a.name)
	if !strings.Contains(status, "Drift:     "+sha[:7]) || !strings.Contains(status, "changed by kubectl-edit") ||
		!strings.Contains(status, "not corrected") || !strings.Contains(status, "ferry diff drifty --cluster "+clusterName) {
		t.Errorf("status of a drifted app:\n%s", status)
	}

	diff := ok(t, "diff", a.name, "--cluster", clusterName)
	for _, want := range []string{
		"# ConfigMap/drifty/web: configured\n--- live\n+++ desired\n", "-  greeting: hacked\n", "+  greeting: hello\n",
		"# Secret/drifty/creds: configured", "-  password: (redacted, live value)\n", "+  password: (redacted, desired value)\n",
		"drifty in " + clusterName + " at " + sha[:7] + ": 2 object(s) differ (2 configured, 2 unchanged)",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	for _, leak := range []string{"live-password", "desired-password", base64.StdEncoding.EncodeToString([]byte("live-password")),
		base64.StdEncoding.EncodeToString([]byte("desired-password"))} {
		if strings.Contains(diff, leak) {
			t.Errorf("diff leaks the Secret value %q:\n%s", leak, diff)
		}
	}
	var js struct {
		Diffs []struct {
			Cluster, Revision string
			Objects           []struct{ Kind, Name, Action, Diff string }
		}
	}
	jsonOf(t, &js, "diff", a.name)
	if len(js.Diffs) != 1 || js.Diffs[0].Cluster != clusterName || js.Diffs[0].Revision != sha || len(js.Diffs[0].Objects) != 4 {
		t.Fatalf("diff json: %+v", js)
	}
	for _, o := range js.Diffs[0].Objects {
		if want := map[string]string{"web": "configured", "creds": "configured"}[o.Name]; want != "" && o.Kind != "Service" && o.Action != want {
			t.Errorf("diff json: %s/%s %s, want %s", o.Kind, o.Name, o.Action, want)
		}
	}
}
