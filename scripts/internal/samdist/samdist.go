// Package samdist lays out what `make lambda` and `make layer` build, one path per
// architecture, and writes each architecture's SAM template from the one checked-in
// examples/<name>/template.yaml.
//
// SAM resolves no !Ref or !Sub in a local CodeUri or ContentUri, so a template can't choose
// its bundle by a parameter: the path itself carries the architecture
// (dist/lambda/<arch>/<function>/bootstrap, dist/layer/<arch>/secretsenv-layer.zip), and the
// template of an architecture (dist/templates/<arch>/<name>.yaml) names only that
// architecture's paths and deploys every function as that architecture. Verify reads the ELF
// machine of every bundle a written template deploys and compares it with the architecture
// the template deploys it as, so a mismatch fails the build instead of the function's first
// cold start.
package samdist

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/internal/yamlnode"
)

// Arch is a target architecture by its GOARCH name.
type Arch string

// The architectures Lambda runs.
const (
	ARM64 Arch = "arm64" // Lambda's arm64 (Graviton), the default
	AMD64 Arch = "amd64" // Lambda's x86_64
)

// Arches are both, the default first.
var Arches = []Arch{ARM64, AMD64}

// ParseArch reads an ARCH setting: arm64 or amd64.
func ParseArch(s string) (Arch, error) {
	switch a := Arch(s); a {
	case ARM64, AMD64:
		return a, nil
	case "x86_64":
		return "", fmt.Errorf("ARCH=%s: the Go name is amd64 (the templates say x86_64)", s)
	}
	return "", fmt.Errorf("ARCH=%q: want arm64 (the default) or amd64", s)
}

// Lambda is the architecture's name in a template's Architectures.
func (a Arch) Lambda() string {
	if a == AMD64 {
		return "x86_64"
	}
	return string(a)
}

// Machine is the ELF machine of a binary built for the architecture.
func (a Arch) Machine() elf.Machine {
	if a == AMD64 {
		return elf.EM_X86_64
	}
	return elf.EM_AARCH64
}

// archOfLambda is the Arch of a template's Architectures value.
func archOfLambda(s string) (Arch, bool) {
	switch s {
	case "arm64":
		return ARM64, true
	case "x86_64":
		return AMD64, true
	}
	return "", false
}

// BundleDir is where `make lambda` puts a function's bootstrap (repository-relative).
func BundleDir(a Arch, function string) string {
	return path.Join("dist", "lambda", string(a), function)
}

// LayerZip is where `make layer` puts the secretsenv layer (repository-relative).
func LayerZip(a Arch) string { return path.Join("dist", "layer", string(a), "secretsenv-layer.zip") }

// TemplatePath is where the template examples/<name>/template.yaml is written for a
// (repository-relative).
func TemplatePath(a Arch, name string) string {
	return path.Join("dist", "templates", string(a), name+".yaml")
}

// Source is the checked-in template of name (repository-relative).
func Source(name string) string { return path.Join("examples", name, "template.yaml") }

// Bundles are the functions and layers a checked-in template deploys from dist/.
type Bundles struct {
	Functions []string // examples/<function> built as dist/lambda/<arch>/<function>/bootstrap
	Layer     bool     // dist/layer/<arch>/secretsenv-layer.zip
}

// Render returns the template examples/<name>/template.yaml of the repository at root,
// written for a: every local CodeUri, ContentUri and DefinitionUri relative to
// dist/templates/<a>/, every bundle path under dist/ in a's folder, every function's
// Architectures and every layer's CompatibleArchitectures a. The checked-in template must
// be consistent itself (a bundle path of the architecture it declares, a literal
// Architectures: never a parameter, which SAM can't pair with the path), or Render fails.
func Render(root, name string, a Arch) ([]byte, Bundles, error) {
	src := Source(name)
	raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(src)))
	if err != nil {
		return nil, Bundles{}, err
	}
	return render(raw, src, TemplatePath(a, name), a)
}

// render rewrites the template raw, read from the repository-relative path src, for a and
// the repository-relative path out.
func render(raw []byte, src, out string, a Arch) ([]byte, Bundles, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, Bundles{}, fmt.Errorf("%s: %w", src, err)
	}
	top := yamlnode.Root(&doc)
	if g := yamlnode.Field(top, "Globals"); g != nil {
		if f := yamlnode.Field(g, "Function"); f != nil && (yamlnode.Field(f, "CodeUri") != nil || yamlnode.Field(f, "Architectures") != nil) {
			return nil, Bundles{}, fmt.Errorf("%s: Globals.Function sets CodeUri or Architectures: set them on each function", src)
		}
	}
	resources := yamlnode.Field(top, "Resources")
	if resources == nil {
		return nil, Bundles{}, fmt.Errorf("%s: no Resources", src)
	}
	var b Bundles
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		where := src + ": " + logical
		props := yamlnode.Field(res, "Properties")
		switch yamlnode.Scalar(yamlnode.Field(res, "Type")) {
		case "AWS::Serverless::Function":
			declared, err := architecture(where, yamlnode.Field(props, "Architectures"))
			if err != nil {
				return nil, Bundles{}, err
			}
			setArch(props, "Architectures", a)
			if code := yamlnode.Field(props, "CodeUri"); code != nil {
				fn, err := rewrite(where+": CodeUri", code, src, out, "lambda", declared, a)
				if err != nil {
					return nil, Bundles{}, err
				}
				if fn == "" {
					return nil, Bundles{}, fmt.Errorf("%s: CodeUri %q is not a bundle under dist/lambda/<arch>/", where, code.Value)
				}
				b.Functions = append(b.Functions, fn)
			}
		case "AWS::Serverless::LayerVersion":
			declared, err := architecture(where, yamlnode.Field(props, "CompatibleArchitectures"))
			if err != nil {
				return nil, Bundles{}, err
			}
			setArch(props, "CompatibleArchitectures", a)
			if content := yamlnode.Field(props, "ContentUri"); content != nil {
				layer, err := rewrite(where+": ContentUri", content, src, out, "layer", declared, a)
				if err != nil {
					return nil, Bundles{}, err
				}
				if layer == "" {
					return nil, Bundles{}, fmt.Errorf("%s: ContentUri %q is not a layer under dist/layer/<arch>/", where, content.Value)
				}
				b.Layer = true
			}
		case "AWS::Serverless::StateMachine":
			if def := yamlnode.Field(props, "DefinitionUri"); def != nil {
				if _, err := rewrite(where+": DefinitionUri", def, src, out, "", "", a); err != nil {
					return nil, Bundles{}, err
				}
			}
		}
	}
	target := "lambda"
	if b.Layer {
		target = "layer"
	}
	doc.HeadComment = fmt.Sprintf("Written by `make %s ARCH=%s` from %s: edit that one.\n"+
		"Everything here runs as %s from bundles built for %s; deploy with `sam deploy -t %s`.", target, a, src, a.Lambda(), a, out)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, Bundles{}, fmt.Errorf("%s: %w", src, err)
	}
	if err := enc.Close(); err != nil {
		return nil, Bundles{}, err
	}
	return buf.Bytes(), b, nil
}

// architecture reads a literal one-value Architectures (or CompatibleArchitectures) list.
func architecture(where string, n *yaml.Node) (Arch, error) {
	if n == nil {
		return "", fmt.Errorf("%s: no Architectures: Lambda would run it as x86_64 whatever was built; say [arm64]", where)
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.ScalarNode || n.Content[0].Tag != "!!str" {
		return "", fmt.Errorf("%s: Architectures must be one literal value ([arm64]): SAM can't choose the bundle's path by a parameter, so a parameter could deploy one architecture's build as the other", where)
	}
	a, ok := archOfLambda(n.Content[0].Value)
	if !ok {
		return "", fmt.Errorf("%s: Architectures %q: want arm64 or x86_64", where, n.Content[0].Value)
	}
	return a, nil
}

// setArch sets props' key to the one-value list [a].
func setArch(props *yaml.Node, key string, a Arch) {
	n := yamlnode.Field(props, key)
	n.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: a.Lambda()}}
}

// rewrite makes the local path in n (relative to src's folder) relative to out's folder,
// with a bundle path under dist/<kind>/<declared>/ moved to dist/<kind>/<a>/. It returns the
// bundle's name under dist/<kind>/<arch>/ (the function, or the zip), "" for another path.
func rewrite(where string, n *yaml.Node, src, out, kind string, declared, a Arch) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", fmt.Errorf("%s: a literal local path is required (SAM resolves no !Ref or !Sub in it)", where)
	}
	p := n.Value
	if strings.Contains(p, "://") {
		return "", fmt.Errorf("%s: %q: a local path is required (make builds the bundles)", where, p)
	}
	rp := path.Clean(path.Join(path.Dir(src), p))
	if rp == ".." || strings.HasPrefix(rp, "../") || path.IsAbs(p) {
		return "", fmt.Errorf("%s: %q is outside the repository", where, p)
	}
	parts := strings.Split(rp, "/")
	name := ""
	switch {
	case kind != "" && len(parts) == 4 && parts[0] == "dist" && parts[1] == kind:
		if Arch(parts[2]) != declared {
			return "", fmt.Errorf("%s: %q is the %s bundle, but the template deploys it as %s", where, p, parts[2], declared.Lambda())
		}
		parts[2] = string(a)
		name = parts[3]
	case parts[0] == "dist" || parts[0] == "bin":
		return "", fmt.Errorf("%s: %q: bundles are dist/lambda/<arch>/<function>/ and dist/layer/<arch>/<zip>, one path per architecture", where, p)
	}
	rel, err := filepath.Rel(filepath.FromSlash(path.Dir(out)), filepath.FromSlash(path.Join(parts...)))
	if err != nil {
		return "", err
	}
	rel = filepath.ToSlash(rel)
	if strings.HasSuffix(p, "/") {
		rel += "/"
	}
	n.Value = rel
	return name, nil
}

// Write renders examples/<name>/template.yaml of the repository at root for a into
// dist/templates/<a>/<name>.yaml, then verifies the bundles it deploys (Verify), which must
// be built. It returns the repository-relative path written. A template that fails Verify is
// removed: nothing deployable is left that would deploy the wrong build.
func Write(root, name string, a Arch) (string, error) {
	out, _, err := Render(root, name, a)
	if err != nil {
		return "", err
	}
	p := TemplatePath(a, name)
	full := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(full, out, 0o644); err != nil {
		return "", err
	}
	if err := Verify(full); err != nil {
		_ = os.Remove(full)
		return "", err
	}
	return p, nil
}

// Verify reads the template at templatePath (its local paths relative to its folder) and
// checks every bundle it deploys: each function's
// CodeUri/bootstrap and every ELF file in each layer's ContentUri zip must be an ELF
// executable of the machine of the architecture the template deploys it as, and a function
// using a layer of the template must run on the layer's architecture.
func Verify(templatePath string) error {
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", templatePath, err)
	}
	resources := yamlnode.Field(yamlnode.Root(&doc), "Resources")
	if resources == nil {
		return fmt.Errorf("%s: no Resources", templatePath)
	}
	dir := filepath.Dir(templatePath)
	layers := map[string]Arch{}
	var errs []error
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		props := yamlnode.Field(res, "Properties")
		if yamlnode.Scalar(yamlnode.Field(res, "Type")) != "AWS::Serverless::LayerVersion" {
			continue
		}
		where := templatePath + ": " + logical
		a, err := architecture(where, yamlnode.Field(props, "CompatibleArchitectures"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		layers[logical] = a
		zipPath := filepath.Join(dir, filepath.FromSlash(yamlnode.Scalar(yamlnode.Field(props, "ContentUri"))))
		if err := checkZip(zipPath, a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		props := yamlnode.Field(res, "Properties")
		if yamlnode.Scalar(yamlnode.Field(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		where := templatePath + ": " + logical
		a, err := architecture(where, yamlnode.Field(props, "Architectures"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ls := yamlnode.Field(props, "Layers"); ls != nil {
			for _, l := range ls.Content {
				if la, ok := layers[l.Value]; ok && l.Tag == "!Ref" && la != a {
					errs = append(errs, fmt.Errorf("%s: runs as %s with the layer %s built for %s", where, a.Lambda(), l.Value, la.Lambda()))
				}
			}
		}
		code := yamlnode.Field(props, "CodeUri")
		if code == nil {
			continue // InlineCode
		}
		bootstrap := filepath.Join(dir, filepath.FromSlash(code.Value), "bootstrap")
		if err := checkFile(bootstrap, a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	return errors.Join(errs...)
}

// Machine returns the ELF machine of the executable r.
func Machine(r io.ReaderAt) (elf.Machine, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return 0, err
	}
	if f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return 0, fmt.Errorf("not a 64-bit executable (%s, %s)", f.Class, f.Type)
	}
	return f.Machine, nil
}

// checkFile checks that the file at p is an executable for a.
func checkFile(p string, a Arch) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("the bundle is missing: %w (make lambda ARCH=%s builds it)", err, a)
	}
	defer f.Close()
	m, err := Machine(f)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if m != a.Machine() {
		return fmt.Errorf("%s is built for %s, but the template deploys it as %s (%s)", p, m, a.Lambda(), a.Machine())
	}
	return nil
}

// checkZip checks every ELF file in the zip at p (and that there is one).
func checkZip(p string, a Arch) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("the layer is missing or unreadable: %w (make layer ARCH=%s builds it)", err, a)
	}
	defer zr.Close()
	found := 0
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
			continue
		}
		found++
		m, err := Machine(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %s: %w", p, zf.Name, err)
		}
		if m != a.Machine() {
			return fmt.Errorf("%s: %s is built for %s, but the template deploys it as %s (%s)", p, zf.Name, m, a.Lambda(), a.Machine())
		}
	}
	if found == 0 {
		return fmt.Errorf("%s holds no executable", p)
	}
	return nil
}
