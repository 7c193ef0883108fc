// Package manifest parses rendered Kubernetes manifests (multi-document
// YAML or JSON) into unstructured objects and computes their digest.
package manifest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// ErrInvalid reports a manifest that is not a valid Kubernetes object.
var ErrInvalid = errors.New("invalid manifest")

// Digest returns "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Parse splits data into objects. Empty documents are skipped; a "List"
// kind is flattened. source names the input in errors (a file or app).
func Parse(source string, data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: document %d: %w", ErrInvalid, source, doc, err)
		}
		got, err := parseDoc(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: document %d: %w", ErrInvalid, source, doc, err)
		}
		objs = append(objs, got...)
	}
}

func parseDoc(raw []byte) ([]*unstructured.Unstructured, error) {
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	u := &unstructured.Unstructured{Object: m}
	if u.IsList() {
		list, err := u.ToList()
		if err != nil {
			return nil, err
		}
		out := make([]*unstructured.Unstructured, 0, len(list.Items))
		for i := range list.Items {
			if err := check(&list.Items[i]); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, &list.Items[i])
		}
		return out, nil
	}
	if err := check(u); err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{u}, nil
}

func check(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "":
		return errors.New("apiVersion is missing")
	case u.GetKind() == "":
		return errors.New("kind is missing")
	case u.GetName() == "" && u.GetGenerateName() == "":
		return fmt.Errorf("%s has no metadata.name", u.GetKind())
	}
	return nil
}

// Ref is a short "Kind/namespace/name" for messages.
func Ref(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

// Join concatenates YAML documents with "---" separators, adding the
// newline a document lacks so two files never run into each other.
func Join(docs ...[]byte) []byte {
	var b bytes.Buffer
	for _, d := range docs {
		d = bytes.TrimSpace(d)
		if len(d) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		b.Write(d)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
