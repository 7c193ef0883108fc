package webhook

import (
	"os/exec"
	"strings"
	"testing"
)

// refCases are refs with whether git, and so checkRef, accepts them.
var refCases = []struct {
	ref string
	ok  bool
}{
	{"refs/heads/main", true},
	{"refs/heads/feature/x-1_2", true},
	{"refs/tags/v1.2.0", true},
	{"refs/heads/a.b", true},
	{"refs/heads/a@b", true},
	{"refs/heads/@", true},
	{"refs/heads/a.lockx", true},
	{"refs/heads/ünïcödé", true},
	{"refs/heads/a{b}", true},
	{"refs/heads/-dash", true},
	{"refs/x", true},

	{"", false},
	{"main", false},
	{"heads/main", false},
	{"@", false},
	{"/refs/heads/main", false},
	{"refs/heads/../../x\nfoo", false},
	{"refs/heads/a..b", false},
	{"refs/heads/..", false},
	{"refs/heads/.hidden", false},
	{"refs/heads/a/.b", false},
	{"refs/heads/a.lock", false},
	{"refs/heads/a.lock/b", false},
	{"refs/heads/a/", false},
	{"refs/heads/a.", false},
	{"refs/heads//a", false},
	{"refs/heads/a@{1}", false},
	{"refs/heads/a b", false},
	{"refs/heads/a\tb", false},
	{"refs/heads/a\x00b", false},
	{"refs/heads/a\x7fb", false},
	{"refs/heads/a~1", false},
	{"refs/heads/a^", false},
	{"refs/heads/a:b", false},
	{"refs/heads/a?", false},
	{"refs/heads/a*", false},
	{"refs/heads/a[b", false},
	{"refs/heads/a\\b", false},
	{"refs/", false},
	{"refs", false},
	{"refs/heads/" + strings.Repeat("a", maxRef), false},
}

func TestCheckRef(t *testing.T) {
	for _, tc := range refCases {
		err := checkRef(tc.ref)
		if (err == nil) != tc.ok {
			t.Errorf("checkRef(%q) = %v, want ok=%v", tc.ref, err, tc.ok)
		}
		if err != nil && err.Error() == "" {
			t.Errorf("checkRef(%q) gives no reason", tc.ref)
		}
	}
}

// TestCheckRefAgreesWithGit runs the table through git check-ref-format
// itself, when git is installed: the expectations are git's, apart from
// the "refs/" prefix and the length bound that ingest adds.
func TestCheckRefAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	for _, tc := range refCases {
		if !strings.HasPrefix(tc.ref, "refs/") || len(tc.ref) > maxRef || strings.ContainsRune(tc.ref, 0) {
			continue // ingest's own rules, or not passable as an argument
		}
		gitOK := exec.Command(git, "check-ref-format", tc.ref).Run() == nil
		if gitOK != tc.ok {
			t.Errorf("git check-ref-format %q: ok=%v, the table says %v", tc.ref, gitOK, tc.ok)
		}
	}
}

// FuzzCheckRef holds checkRef to an independent spelling of git's rules
// and checks that an accepted ref is safe wherever ingest puts it.
func FuzzCheckRef(f *testing.F) {
	for _, tc := range refCases {
		f.Add(tc.ref)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		err := checkRef(ref)
		if want := refOracle(ref); (err == nil) != want {
			t.Fatalf("checkRef(%q) = %v, oracle says ok=%v", ref, err, want)
		}
		if err != nil {
			return
		}
		if strings.ContainsAny(ref, "\n\r\x00 ") || strings.Contains(ref, "..") || !strings.HasPrefix(ref, "refs/") {
			t.Fatalf("accepted %q", ref)
		}
	})
}

// refOracle is git-check-ref-format(1) read rule by rule, component-wise.
func refOracle(ref string) bool {
	if len(ref) > maxRef || !strings.HasPrefix(ref, "refs/") || ref == "@" {
		return false
	}
	comps := strings.Split(ref, "/")
	for i, c := range comps {
		if c == "" || strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return false // also catches "//" and a trailing "/"
		}
		if i == len(comps)-1 && strings.HasSuffix(c, ".") {
			return false
		}
		for j, r := range []byte(c) {
			if r < 040 || r == 0177 || strings.IndexByte(" ~^:?*[\\", r) >= 0 {
				return false
			}
			if r == '.' && j+1 < len(c) && c[j+1] == '.' {
				return false
			}
			if r == '@' && j+1 < len(c) && c[j+1] == '{' {
				return false
			}
		}
	}
	return true
}
