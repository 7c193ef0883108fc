package applybench

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/controlplane"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cp)) }

// BenchmarkApply1000 runs the side-by-side comparison once per iteration
// and reports the worker's objects/s and its ratio to the floor:
//
//	go test ./applybench -run '^$' -bench Apply1000 -benchtime 1x -timeout 20m -v
func BenchmarkApply1000(b *testing.B) {
	for i := range b.N {
		r, err := Run(b.Context(), cp.RESTConfig(), cp.Kubeconfig(), fmt.Sprintf("bench%d-%d", i, time.Now().Unix()%100000), 1000)
		if err != nil {
			b.Fatal(err)
		}
		b.Log("\n" + r.String())
		b.ReportMetric(float64(r.Objects)/r.Worker.Seconds(), "worker-obj/s")
		b.ReportMetric(float64(r.Objects)/r.Floor().Seconds(), "floor-obj/s")
		b.ReportMetric(r.Worker.Seconds()/r.Floor().Seconds(), "x-floor")
		b.ReportMetric(r.Worker.Seconds()/r.Unchanged.Seconds(), "x-unchanged-speedup")
	}
}

func TestManifestsMix(t *testing.T) {
	objs, err := parse(Manifests("ns", 1000))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, u := range objs {
		kinds[u.GetKind()]++
	}
	if kinds["ConfigMap"] != 600 || kinds["Service"] != 200 || kinds["Deployment"] != 200 {
		t.Errorf("mix %v", kinds)
	}
}
