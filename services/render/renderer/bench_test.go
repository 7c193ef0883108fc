package renderer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/gitserver"
	"github.com/ferrycd/ferry/pkg/registry"
	"github.com/ferrycd/ferry/services/render/gitcache"
	"github.com/ferrycd/ferry/services/render/source"
)

// BenchmarkRenderWarm measures what render does for a push once the
// repository is cached: an incremental fetch of one new commit and the
// render and validation of a 100-object plain YAML app. The commit and
// push with the git CLI are not timed.
func BenchmarkRenderWarm(b *testing.B) {
	ctx := context.Background()
	gs, err := gitserver.Start(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gs.Close() })
	repo, err := gs.NewRepo(ctx, "bench", filepath.Join(b.TempDir(), "work"))
	if err != nil {
		b.Fatal(err)
	}
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("app/%02d/cm-%03d.yaml", i%10, i)] = configMap(fmt.Sprintf("cm-%03d", i))
	}
	sha, err := repo.CommitAndPush(ctx, files, "seed")
	if err != nil {
		b.Fatal(err)
	}
	cache, err := gitcache.New(b.TempDir(), time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	r := &renderer{cache: cache, tools: source.Tools()}
	t := target{entry: &registry.Entry{App: registry.App{Name: "bench", Source: registry.Source{Repo: repo.URL, Path: "app"}}},
		dest: registry.Destination{Cluster: "c"}}
	var fetching, rendering time.Duration
	renderOnce := func(rev string) {
		start := time.Now()
		snap, err := cache.Checkout(ctx, repo.URL, "main", rev)
		if err != nil {
			b.Fatal(err)
		}
		fetched := time.Now()
		out := r.render(ctx, snap, t)
		fetching, rendering = fetching+fetched.Sub(start), rendering+time.Since(fetched)
		snap.Close()
		if out.err != nil || len(out.data) == 0 {
			b.Fatalf("render: %v", out.err)
		}
	}
	renderOnce(sha) // the first clone is not part of the warm path
	fetching, rendering = 0, 0
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		sha, err = repo.CommitAndPush(ctx, map[string]string{"app/00/cm-000.yaml": configMap(fmt.Sprintf("v%d", i))}, "bump")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		renderOnce(sha)
	}
	b.StopTimer()
	b.ReportMetric(float64(fetching.Microseconds())/float64(b.N)/1000, "fetch-ms/op")
	b.ReportMetric(float64(rendering.Microseconds())/float64(b.N)/1000, "render-ms/op")
	if s := cache.Stats(); s.Inits != 1 {
		b.Fatalf("cache stats %+v: want one clone", s)
	}
}
