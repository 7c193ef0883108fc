package webhook

import (
	"errors"
	"strings"
)

// maxRef bounds a ref name. Git sets no limit, but no host serves refs
// anywhere near this long, and the ref goes into logs, spans and events.
const maxRef = 1024

// checkRef reports why ref is not a full ref name git would accept, nil
// when it is. The rules are git's (git-check-ref-format(1), as for a full
// ref without --allow-onelevel, --refspec-pattern or --normalize):
//
//   - it starts with "refs/" (a full name, which also gives it the
//     slash git requires);
//   - no "/"-separated component is empty, begins with "." or ends
//     with ".lock";
//   - it has no "..", no "@{", no ASCII control character (below 0x20
//     or 0x7f), space, "~", "^", ":", "?", "*", "[" or "\";
//   - it does not end with "/" or "." and is not "@".
//
// Past git's rules it is at most maxRef bytes. Bytes of 0x80 and above
// are allowed, as git allows them.
func checkRef(ref string) error {
	switch {
	case ref == "":
		return errors.New("empty")
	case len(ref) > maxRef:
		return errors.New("longer than 1024 bytes")
	case !strings.HasPrefix(ref, "refs/"):
		return errors.New(`does not start with "refs/"`)
	case strings.HasSuffix(ref, "/"):
		return errors.New(`ends with "/"`)
	case strings.HasSuffix(ref, "."):
		return errors.New(`ends with "."`)
	case strings.Contains(ref, ".."):
		return errors.New(`contains ".."`)
	case strings.Contains(ref, "@{"):
		return errors.New(`contains "@{"`)
	}
	for i := 0; i < len(ref); i++ {
		switch c := ref[i]; {
		case c < 0x20 || c == 0x7f:
			return errors.New("contains an ASCII control character")
		case c == ' ':
			return errors.New("contains a space")
		case c == '~', c == '^', c == ':', c == '?', c == '*', c == '[', c == '\\':
			return errors.New(`contains "` + string(c) + `"`)
		}
	}
	for comp := range strings.SplitSeq(ref, "/") {
		switch {
		case comp == "":
			return errors.New(`contains "//"`)
		case comp[0] == '.':
			return errors.New(`has a component starting with "."`)
		case strings.HasSuffix(comp, ".lock"):
			return errors.New(`has a component ending with ".lock"`)
		}
	}
	return nil
}
