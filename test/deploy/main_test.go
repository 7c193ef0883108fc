package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrycd/ferry/pkg/controlplane"
)

// cp is the package's kube-apiserver, shared by every test.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

// root is the repository's top directory.
var root = filepath.Join("..", "..")

// kustomizations are the two things a user applies: the central install
// and a remote cluster's worker.
var kustomizations = []string{
	filepath.Join(root, "deploy", "kubernetes"),
	filepath.Join(root, "deploy", "kubernetes", "remote-worker"),
}
