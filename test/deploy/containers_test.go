package deploy

import (
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/services/drift/config"
)

// images are the images make images builds; every container runs one.
var images = []string{"ferry/nats-server:dev", "ferry/ingest:dev", "ferry/render:dev",
	"ferry/apply:dev", "ferry/drift:dev", "ferry/dashboard:dev"}

// noHTTP are the containers whose binaries serve no HTTP, so they have no
// probes (their README entries say so).
var noHTTP = []string{"render", "drift", "apply"}

// TestContainersLockedDown checks every container of each kustomization
// with CheckContainer, that it runs an image make images builds, that the
// binaries with a health endpoint are probed on it, and that an
// environment variable refers ($(NAME)) only to one defined before it,
// which is all Kubernetes expands.
func TestContainersLockedDown(t *testing.T) {
	seen := map[string]bool{}
	for _, dir := range kustomizations {
		objs, err := Build(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			pod, ok, err := PodSpec(u)
			if err != nil {
				t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
			}
			if !ok {
				continue
			}
			if len(pod.InitContainers) > 0 || len(pod.EphemeralContainers) > 0 {
				t.Errorf("%s %s: unexpected init or ephemeral containers", u.GetKind(), u.GetName())
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC {
				t.Errorf("%s %s: shares a host namespace", u.GetKind(), u.GetName())
			}
			if u.GetName() != "ferry-apply" && (pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken) {
				t.Errorf("%s %s: mounts a ServiceAccount token it does not use", u.GetKind(), u.GetName())
			}
			for i := range pod.Containers {
				c := &pod.Containers[i]
				seen[c.Name] = true
				where := u.GetKind() + " " + u.GetName() + " container " + c.Name
				for _, b := range CheckContainer(pod, c) {
					t.Errorf("%s: %s", where, b)
				}
				if !slices.Contains(images, c.Image) {
					t.Errorf("%s: image %s is not one make images builds", where, c.Image)
				}
				if !slices.Contains(noHTTP, c.Name) && (c.LivenessProbe == nil || c.ReadinessProbe == nil) {
					t.Errorf("%s: no liveness and readiness probes", where)
				}
				checkEnvOrder(t, where, c.Env)
			}
		}
	}
	for _, want := range []string{"nats", "ingest", "render", "drift", "dashboard", "apply"} {
		if !seen[want] {
			t.Errorf("no %s container in deploy/kubernetes", want)
		}
	}
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func checkEnvOrder(t *testing.T, where string, env []corev1.EnvVar) {
	t.Helper()
	defined := map[string]bool{}
	for _, e := range env {
		for _, m := range envRef.FindAllStringSubmatch(e.Value, -1) {
			if !defined[m[1]] {
				t.Errorf("%s: env %s refers to $(%s), not defined before it", where, e.Name, m[1])
			}
		}
		defined[e.Name] = true
	}
}

// TestCheckContainerRejects shows CheckContainer failing a container that
// breaks each rule, so TestContainersLockedDown can fail.
func TestCheckContainerRejects(t *testing.T) {
	yes, no, root := true, false, int64(0)
	pod := &corev1.PodSpec{}
	c := &corev1.Container{
		Name:  "bad",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: &no, RunAsUser: &root, ReadOnlyRootFilesystem: &no,
			AllowPrivilegeEscalation: &yes, Privileged: &yes},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
	}
	got := strings.Join(CheckContainer(pod, c), "\n")
	for _, want := range []string{"runAsNonRoot", "runAsUser", "readOnlyRootFilesystem", "allowPrivilegeEscalation",
		"privileged", "capabilities", "seccompProfile", "no cpu request", "no memory request", "no cpu limit", "probes"} {
		if !strings.Contains(got, want) {
			t.Errorf("CheckContainer of a bad container: %q does not name %q", got, want)
		}
	}
	if strings.Contains(got, "no memory limit") {
		t.Errorf("CheckContainer: memory limit is set, yet: %q", got)
	}
}

// TestDriftConfigValid parses the drift config the kustomization ships
// exactly as the drift service does.
func TestDriftConfigValid(t *testing.T) {
	objs, err := Build(kustomizations[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		if u.GetKind() == "Secret" && strings.HasPrefix(u.GetName(), "ferry-drift-config") {
			data, _, _ := unstructuredString(u.Object, "data", "drift.yaml")
			if _, err := config.Parse(data); err != nil {
				t.Fatalf("shipped drift config: %v", err)
			}
			return
		}
	}
	t.Fatal("no Secret ferry-drift-config")
}

// unstructuredString returns the base64-decoded value at path of a
// Secret's data.
func unstructuredString(obj map[string]any, path ...string) ([]byte, bool, error) {
	s, ok, err := unstructured.NestedString(obj, path...)
	if err != nil || !ok {
		return nil, ok, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, true, err
}
