package dashboard

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chromedp/chromedp"

	"github.com/ferrycd/ferry/pkg/fleet"
	"github.com/ferrycd/ferry/pkg/pushhook"
	"github.com/ferrycd/ferry/pkg/subject"
)

var traceID = regexp.MustCompile(`^[0-9a-f]{32}$`)

const cellSel = `td.cell[data-app="guestbook"][data-cluster="prod"]`

// TestDashboard walks what an operator sees: the grid with the deployed
// apps; a push that shows up on the open page without a reload; no
// buttons and refused POSTs without a login; and a rollback from the app
// page that puts the cluster's ConfigMap back.
func TestDashboard(t *testing.T) {
	ctx := context.Background()
	repo, err := pipe.Git.NewRepo(ctx, "platform", filepath.Join(t.TempDir(), "platform"))
	if err != nil {
		t.Fatal(err)
	}
	res := results(t)
	first := push(t, repo, pushhook.ZeroSHA, platformFiles(repo.URL, "hello"), "Add guestbook, api and payments")
	waitResults(t, res, first, "guestbook", "api", "payments")

	grid := tab(t)
	var second string
	if !t.Run("grid shows the deployed apps", func(t *testing.T) {
		do(t, grid, "open the grid", chromedp.Navigate(dashURL+"/"), chromedp.WaitVisible(chromedp.CSS(cellSel)))
		cell := get(t, grid, "read the cell", chromedp.Text(chromedp.CSS(cellSel)))
		for _, want := range []string{fleet.Short(first), "Synced", "Add guestbook"} {
			if !strings.Contains(cell, want) {
				t.Errorf("guestbook × prod cell %q lacks %q", cell, want)
			}
		}
		failed := eval[bool](t, grid, `document.querySelector('td.cell[data-app="payments"][data-cluster="prod"]').classList.contains("bad")`)
		pending := eval[bool](t, grid, `document.querySelector('td.cell[data-app="guestbook"][data-cluster="staging"]').innerText.includes("Pending")`)
		if !failed || !pending {
			t.Errorf("payments shown failed: %v; guestbook in staging (no worker) pending: %v", failed, pending)
		}
		screenshot(t, grid, "grid-first-deploy.png")
	}) {
		return
	}

	if !t.Run("a push updates the open page without a reload", func(t *testing.T) {
		eventually(t, grid, "the live stream connects", `document.getElementById("live").classList.contains("on")`)
		eval[string](t, grid, `window.ferryTestMarker = "same page"`)
		second = push(t, repo, first, platformFiles(repo.URL, "hello, world"), "Greet the world from guestbook")
		took := eventually(t, grid, "the new revision in the grid",
			`document.querySelector('`+cellSel+`').innerText.includes(`+jsString(fleet.Short(second))+`)`)
		t.Logf("the push showed up on the open page %s after the webhook was accepted", took.Round(time.Millisecond))
		if marker := eval[string](t, grid, `window.ferryTestMarker || "reloaded"`); marker != "same page" {
			t.Errorf("the page was reloaded to show the push (marker %q)", marker)
		}
		waitResults(t, res, second, "guestbook")
	}) {
		return
	}

	t.Run("without a login there are no actions and a POST is refused", func(t *testing.T) {
		for name, base := range map[string]string{"read-only dashboard": readOnlyURL, "not logged in": dashURL} {
			page := tab(t)
			do(t, page, name+": open the app page", chromedp.Navigate(base+"/apps/guestbook"), chromedp.WaitVisible(chromedp.CSS("#dest-prod")))
			if buttons := eval[int](t, page, `document.querySelectorAll("button[data-verb]").length`); buttons != 0 {
				t.Errorf("%s: %d action buttons, want none", name, buttons)
			}
			status := eval[int](t, page, `fetch("/apps/guestbook/commands", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
				body: "cluster=prod&verb=rollback&revision=`+first+`"}).then(r => r.status)`)
			if status != 403 {
				t.Errorf("%s: POST a rollback = %d, want 403", name, status)
			}
		}
	})

	t.Run("a rollback from the app page changes the cluster", func(t *testing.T) {
		page := tab(t)
		rollback := `button[data-verb="rollback"][data-cluster="prod"][data-revision="` + first + `"]`
		do(t, page, "log in", chromedp.Navigate(dashURL+"/login?next=/apps/guestbook"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "ada"),
			chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), operatorToken),
			chromedp.Click(chromedp.CSS(`form.login-form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(rollback)))
		if got := greeting(t); got != "hello, world" {
			t.Fatalf("greeting before the rollback = %q, want the second commit's", got)
		}
		do(t, page, "click roll back", chromedp.Click(chromedp.CSS(rollback)), chromedp.WaitVisible(chromedp.CSS("#result")))
		banner := get(t, page, "read the result", chromedp.Text(chromedp.CSS("#result")))
		for _, want := range []string{"rollback", fleet.Short(first), "dashboard:ada@127.0.0.1", "succeeded"} {
			if !strings.Contains(banner, want) {
				t.Errorf("result banner %q lacks %q", banner, want)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for greeting(t) != "hello" {
			if time.Now().After(deadline) {
				t.Fatalf("ConfigMap guestbook/web greeting = %q 30s after the rollback, want %q", greeting(t), "hello")
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd := lastCommand(t, subject.Command("prod", "guestbook", subject.VerbRollback))
		if cmd.GetRequestedBy() != "dashboard:ada@127.0.0.1" || cmd.GetRevision() != first {
			t.Errorf("FERRY_CMD holds %v, want a rollback to %s requested by dashboard:ada@127.0.0.1", cmd, first)
		}
		trace := eval[string](t, page, `(document.querySelector("#dest-prod code.trace") || {}).textContent || ""`)
		if !traceID.MatchString(trace) {
			t.Errorf("the deploy's trace id on the app page = %q, want 32 hex digits", trace)
		}
		eventually(t, page, "the pin on the page", `document.querySelector("#dest-prod").innerText.includes("pinned to `+fleet.Short(first)+`")`)
		screenshot(t, page, "app.png")
		do(t, page, "open the cluster page", chromedp.Navigate(dashURL+"/clusters/prod"), chromedp.WaitVisible(chromedp.CSS("table.objects")))
		screenshot(t, page, "cluster.png")
	})

	t.Run("drift shows on the open page and in the diff", func(t *testing.T) {
		page := tab(t)
		do(t, page, "open the app page", chromedp.Navigate(dashURL+"/apps/guestbook"), chromedp.WaitVisible(chromedp.CSS("#dest-prod")))
		// An edit behind Git's back; guestbook has no selfHeal, so it stays.
		editGreeting(t, "edited by hand")
		eventually(t, page, "drift on the open app page", `document.querySelector("#dest-prod .badges").innerText.includes("drifted")`)
		do(t, page, "open the diff", chromedp.Navigate(dashURL+"/apps/guestbook/diff/prod"), chromedp.WaitVisible(chromedp.CSS("pre.diff")))
		diff := get(t, page, "read the diff", chromedp.Text(chromedp.CSS("main")))
		for _, want := range []string{"ConfigMap/guestbook/web", "configured", "edited by hand", "hello"} {
			if !strings.Contains(diff, want) {
				t.Errorf("diff page lacks %q:\n%s", want, diff)
			}
		}
		screenshot(t, page, "diff.png")
		// The open diff follows the next edit without a reload.
		editGreeting(t, "edited twice")
		eventually(t, page, "the second edit on the open diff", `document.querySelector("main").innerText.includes("edited twice")`)
		do(t, page, "open the grid", chromedp.Navigate(dashURL+"/"), chromedp.WaitVisible(chromedp.CSS(cellSel)))
		if cell := get(t, page, "read the cell", chromedp.Text(chromedp.CSS(cellSel))); !strings.Contains(cell, "drifted") {
			t.Errorf("guestbook × prod cell %q does not say drifted", cell)
		}
		screenshot(t, page, "grid.png")
	})
}

// editGreeting changes the guestbook ConfigMap's greeting as kubectl edit
// would, behind Git's back.
func editGreeting(t *testing.T, value string) {
	t.Helper()
	ctx := context.Background()
	cm, err := kube.CoreV1().ConfigMaps("guestbook").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap guestbook/web: %v", err)
	}
	cm.Data["greeting"] = value
	if _, err := kube.CoreV1().ConfigMaps("guestbook").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatalf("edit configmap guestbook/web: %v", err)
	}
}

// greeting is the guestbook ConfigMap's greeting in the cluster.
func greeting(t *testing.T) string {
	t.Helper()
	cm, err := kube.CoreV1().ConfigMaps("guestbook").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap guestbook/web: %v", err)
	}
	return cm.Data["greeting"]
}
