package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestIsPermanentOnRealErrors classifies the errors the test control
// plane and client-go really return: the manifest's own faults are
// permanent, the cluster's troubles transient.
func TestIsPermanentOnRealErrors(t *testing.T) {
	kc := newClient(t, cp.RESTConfig())
	const ns = "classify"
	ensureNamespace(t, kc, ns)

	cases := []struct {
		name      string
		err       error
		permanent bool
		message   string // part of the error the API server or client-go gave
	}{
		{"job with generateName only", dryRun(t, kc, `apiVersion: batch/v1
kind: Job
metadata: {generateName: migrate-, namespace: classify}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}`), true, "resource name may not be empty"},
		{"replicas of the wrong type", dryRun(t, kc, deploymentWithReplicas("web", ns, `"three"`)), true, ".spec.replicas: expected numeric"},
		{"field not in the schema", dryRun(t, kc, `apiVersion: v1
kind: ConfigMap
metadata: {name: unknown-field, namespace: classify}
datta: {a: b}`), true, "field not declared in schema"},
		{"invalid value", dryRun(t, kc, `apiVersion: v1
kind: Service
metadata: {name: web, namespace: classify}
spec: {ports: [{port: 70000}]}`), true, "must be between 1 and 65535"},
		{"invalid name", dryRun(t, kc, `apiVersion: v1
kind: ConfigMap
metadata: {name: Bad_Name, namespace: classify}`), true, "lowercase RFC 1123"},
		{"missing namespace", dryRun(t, kc, `apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: classify-missing}`), true, "not found"},
		{"kind not served", dryRun(t, kc, `apiVersion: example.com/v1
kind: Nothing
metadata: {name: n, namespace: classify}`), true, "no matches for kind"},
		{"conflict", staleUpdate(t, kc, ns), false, "the object has been modified"},
		{"connection refused", dryRun(t, newClient(t, &rest.Config{Host: "https://127.0.0.1:1", Timeout: 2 * time.Second}), `apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: classify}`), false, "connection refused"},
		{"webhook timeout", webhookTimeout(t, kc, ns), false, "failed calling webhook"},
		{"namespace terminating", terminatingNamespace(t, kc), false, "being terminated"},
		// Answers the test control plane cannot be made to give; the
		// values are the ones client-go builds from such responses.
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), false, "slow down"},
		{"unavailable", apierrors.NewServiceUnavailable("etcd is down"), false, "etcd is down"},
		{"server timeout", apierrors.NewTimeoutError("request did not complete", 2), false, "request did not complete"},
		{"internal error", apierrors.NewInternalError(errors.New("etcdserver: request timed out")), false, "etcdserver"},
		{"unauthorized", apierrors.NewUnauthorized("token expired"), false, "token expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil {
				t.Fatal("no error to classify")
			}
			if !strings.Contains(c.err.Error(), c.message) {
				t.Errorf("error %q does not contain %q", c.err, c.message)
			}
			if got := isPermanent(c.err); got != c.permanent {
				t.Errorf("isPermanent(%q) = %v, want %v", c.err, got, c.permanent)
			}
			wrapped := fmt.Errorf("apply: %w", &setError{step: stepDryRun, failed: []*planned{{obj: &unstructured.Unstructured{}, err: c.err}}})
			if got := isPermanent(wrapped); got != c.permanent {
				t.Errorf("isPermanent of a dry run failing with it = %v, want %v", got, c.permanent)
			}
		})
	}

	errOf := func(name string) error {
		for _, c := range cases {
			if c.name == name {
				return c.err
			}
		}
		t.Fatalf("no case %q", name)
		return nil
	}
	noName, badType, down := errOf("job with generateName only"), errOf("replicas of the wrong type"), errOf("connection refused")

	// One transient failure makes the whole set worth a retry, whatever
	// the other objects' errors are.
	mixed := &setError{step: stepApply, failed: []*planned{
		{obj: &unstructured.Unstructured{}, err: noName},
		{obj: &unstructured.Unstructured{}, err: apierrors.NewServiceUnavailable("etcd is down")},
	}}
	if isPermanent(mixed) {
		t.Errorf("isPermanent(%q) = true, want false", mixed)
	}

	// A refused revision whose inventory could not be restored is retried
	// (sync.go joins the two); joined permanent errors stay permanent.
	refused := fmt.Errorf("apply: %w", &setError{step: stepDryRun, failed: []*planned{{obj: &unstructured.Unstructured{}, err: badType}}})
	for _, c := range []struct {
		err       error
		permanent bool
	}{
		{fmt.Errorf("apply: %w", errors.Join(refused, down)), false},
		{errors.Join(refused, noName), true},
		{fmt.Errorf("sync: %w", errors.Join(permanent(errors.New("bad bundle")), refused)), true},
		{errors.Join(permanent(errors.New("bad bundle")), down), false},
	} {
		if got := isPermanent(c.err); got != c.permanent {
			t.Errorf("isPermanent(%q) = %v, want %v", c.err, got, c.permanent)
		}
	}
}

// TestExplainNamesGenerateName checks the reason added to client-go's
// refusal of an object with only generateName.
func TestExplainNamesGenerateName(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetGenerateName("migrate-")
	err := explain(u, errors.New("resource name may not be empty"))
	if !strings.Contains(err.Error(), `generateName "migrate-" is not supported`) || !isPermanent(err) {
		t.Errorf("explain = %q (permanent %v), want the generateName reason, permanent", err, isPermanent(err))
	}
	other := errors.New("connection refused")
	if got := explain(u, other); got != other {
		t.Errorf("explain changed an unrelated error: %q", got)
	}
}

// newClient is a controller-runtime client for cfg.
func newClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	kc, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	return kc
}

// ensureNamespace creates namespace ns unless it exists.
func ensureNamespace(t *testing.T, kc client.Client, ns string) {
	t.Helper()
	err := kc.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}

// dryRun server-side applies doc with dryRun=All, as the worker's gate
// does, and returns the error.
func dryRun(t *testing.T, kc client.Client, doc string) error {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("parse %q: %v", doc, err)
	}
	return kc.Patch(t.Context(), u, client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner(DefaultFieldManager))
}

// deploymentWithReplicas is a Deployment whose spec.replicas is the YAML
// value replicas, in namespace ns unless ns is empty.
func deploymentWithReplicas(name, ns, replicas string) string {
	meta := "{name: " + name + "}"
	if ns != "" {
		meta = "{name: " + name + ", namespace: " + ns + "}"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: %s
spec:
  replicas: %s
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %[3]s}}
    spec: {containers: [{name: web, image: registry.k8s.io/pause:3.10}]}
`, meta, replicas, name)
}

// staleUpdate updates a ConfigMap with an outdated resourceVersion.
func staleUpdate(t *testing.T, kc client.Client, ns string) error {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stale", Namespace: ns}, Data: map[string]string{"v": "1"}}
	if err := kc.Create(t.Context(), cm); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create configmap: %v", err)
	}
	if err := kc.Get(t.Context(), client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	stale := cm.DeepCopy()
	cm.Data["v"] += "1"
	if err := kc.Update(t.Context(), cm); err != nil {
		t.Fatalf("update configmap: %v", err)
	}
	stale.Data["v"] = "other"
	return kc.Update(t.Context(), stale)
}

// webhookTimeout registers a validating webhook that never answers for
// ConfigMaps labelled for this test, and returns the error of a dry run
// of such a ConfigMap once the API server calls it.
func webhookTimeout(t *testing.T, kc client.Client, ns string) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	url := "https://" + ln.Addr().String() + "/validate"
	fail, none, timeout := admissionv1.Fail, admissionv1.SideEffectClassNone, int32(1)
	hook := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "ferry-test-never-answers"},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "never-answers.ferry.test",
			ClientConfig:            admissionv1.WebhookClientConfig{URL: &url},
			Rules:                   []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}, Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"ferry-test": "webhook-timeout"}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if err := kc.Create(t.Context(), hook); err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	t.Cleanup(func() {
		if err := kc.Delete(context.Background(), hook); err != nil {
			t.Errorf("delete webhook: %v", err)
		}
	})
	doc := `apiVersion: v1
kind: ConfigMap
metadata: {name: hooked, namespace: ` + ns + `, labels: {ferry-test: webhook-timeout}}`
	// The API server picks the webhook up from its informer shortly.
	return pollError(t, 20*time.Second, func() error { return dryRun(t, kc, doc) })
}

// terminatingNamespace deletes a namespace a finalizer holds in
// Terminating and returns the error of a dry run of an object in it.
func terminatingNamespace(t *testing.T, kc client.Client) error {
	t.Helper()
	const finalizer = "ferry.test/hold"
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "classify-terminating", Finalizers: []string{finalizer}}}
	if err := kc.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := kc.Patch(context.Background(), ns, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("release namespace: %v", err)
		}
	})
	if err := kc.Delete(t.Context(), ns); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
	doc := `apiVersion: v1
kind: ConfigMap
metadata: {name: late, namespace: classify-terminating}`
	// The lifecycle admission sees the deletion through its informer.
	return pollError(t, 20*time.Second, func() error {
		err := dryRun(t, kc, doc)
		if err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return err
		}
		return nil
	})
}

// pollError calls try until it returns an error, or fails t after timeout.
func pollError(t *testing.T, timeout time.Duration, try func() error) error {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if err := try(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error within %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
