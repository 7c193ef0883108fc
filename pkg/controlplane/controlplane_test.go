package controlplane_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferrycd/ferry/pkg/controlplane"
)

func TestControlPlane(t *testing.T) {
	began := time.Now()
	cp := controlplane.StartForTest(t)
	t.Logf("control plane started in %s", time.Since(began).Round(time.Millisecond))
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cp.APIServerPID())); err == nil {
		for line := range strings.Lines(string(status)) {
			if strings.HasPrefix(line, "VmRSS:") {
				t.Logf("kube-apiserver %s", strings.Join(strings.Fields(line), " "))
			}
		}
	}

	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatalf("new clientset: %v", err)
	}

	t.Run("version", func(t *testing.T) {
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("server version: %v", err)
		}
		if v.GitVersion != controlplane.KubernetesVersion {
			t.Errorf("gitVersion = %q, want %q", v.GitVersion, controlplane.KubernetesVersion)
		}
		if v.Major != "1" || v.Minor != "37" {
			t.Errorf("major.minor = %s.%s, want 1.37", v.Major, v.Minor)
		}
	})

	t.Run("configmap round trip", func(t *testing.T) {
		ctx := t.Context()
		want := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "ferry-test", Namespace: "default"},
			Data:       map[string]string{"greeting": "hello"},
		}
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, want, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create configmap: %v", err)
		}
		got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "ferry-test", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get configmap: %v", err)
		}
		if got.Data["greeting"] != "hello" {
			t.Errorf("data = %v, want greeting=hello", got.Data)
		}
	})

	t.Run("kubeconfig", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig())
		if err != nil {
			t.Fatalf("load kubeconfig: %v", err)
		}
		kc, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatalf("new clientset: %v", err)
		}
		if _, err := kc.CoreV1().Namespaces().Get(t.Context(), "default", metav1.GetOptions{}); err != nil {
			t.Fatalf("get namespace default through kubeconfig: %v", err)
		}
	})

	t.Run("rest config is a copy", func(t *testing.T) {
		a := cp.RESTConfig()
		a.Host = "https://example.invalid"
		if cp.RESTConfig().Host == a.Host {
			t.Error("RESTConfig returned shared state")
		}
	})
}

func TestStopKillsAPIServer(t *testing.T) {
	cp := controlplane.StartForTest(t)
	pid := cp.APIServerPID()
	began := time.Now()
	if err := cp.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("control plane stopped in %s", time.Since(began).Round(time.Millisecond))
	if err := cp.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatalf("find process: %v", err)
	}
	if err := p.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kube-apiserver pid %d still alive after Stop (signal 0: %v)", pid, err)
	}
}
