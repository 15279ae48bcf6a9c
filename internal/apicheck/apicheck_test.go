// Package apicheck holds the test that keeps internal types out of the public API: no
// exported name of a public package (a function's parameters and results, a struct's
// exported fields and embedded types, a method, promoted ones included, a variable, an
// alias) mentions a type from an internal/ package. A user can't name such a type, so
// what it brings along (its methods, its fields) would be API nobody can hold.
package apicheck

import (
	"bufio"
	"bytes"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/shipshape-dev/shipshape"

// public reports whether users import pkg: not internal, not a binary, script, benchmark
// or end-to-end test.
func public(pkg string) bool {
	rest := strings.TrimPrefix(pkg, module)
	if rest == pkg {
		return false
	}
	for _, p := range []string{"/internal", "/examples", "/e2e", "/bench", "/scripts"} {
		if rest == p || strings.HasPrefix(rest, p+"/") || strings.Contains(rest, "/internal/") || strings.HasSuffix(rest, "/internal") {
			return false
		}
	}
	return true
}

func isInternal(path string) bool {
	return path == module+"/internal" || strings.HasPrefix(path, module+"/internal/") || strings.Contains(path, "/internal/")
}

// exports runs `go list -export` for the module's packages and their dependencies: the
// compiler's export data of each, which go/importer reads.
func exports(t *testing.T) (pkgs []string, files map[string]string) {
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", module+"/...").Output()
	require.NoError(t, err, "go list -export")
	files = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		path, file, _ := strings.Cut(sc.Text(), " ")
		files[path] = file
		if public(path) {
			pkgs = append(pkgs, path)
		}
	}
	require.NoError(t, sc.Err())
	return pkgs, files
}

// leaks walks t and returns the internal named types it mentions. Named types of other
// packages are not entered (their own exported API is checked on their own).
func leaks(t types.Type, seen map[types.Type]bool) []string {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		return leaks(types.Unalias(t), seen)
	case *types.Named:
		var out []string
		if obj := t.Obj(); obj.Pkg() != nil && isInternal(obj.Pkg().Path()) {
			out = append(out, obj.Pkg().Path()+"."+obj.Name())
		}
		for i := 0; i < t.TypeArgs().Len(); i++ {
			out = append(out, leaks(t.TypeArgs().At(i), seen)...)
		}
		return out
	case *types.Pointer:
		return leaks(t.Elem(), seen)
	case *types.Slice:
		return leaks(t.Elem(), seen)
	case *types.Array:
		return leaks(t.Elem(), seen)
	case *types.Map:
		return append(leaks(t.Key(), seen), leaks(t.Elem(), seen)...)
	case *types.Chan:
		return leaks(t.Elem(), seen)
	case *types.Signature:
		var out []string
		for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
			for i := 0; i < tup.Len(); i++ {
				out = append(out, leaks(tup.At(i).Type(), seen)...)
			}
		}
		return out
	case *types.Struct:
		var out []string
		for i := 0; i < t.NumFields(); i++ {
			if f := t.Field(i); f.Exported() {
				out = append(out, leaks(f.Type(), seen)...)
			}
		}
		return out
	case *types.Interface:
		var out []string
		for i := 0; i < t.NumMethods(); i++ {
			if m := t.Method(i); m.Exported() {
				out = append(out, leaks(m.Type(), seen)...)
			}
		}
		for i := 0; i < t.NumEmbeddeds(); i++ {
			out = append(out, leaks(t.EmbeddedType(i), seen)...)
		}
		return out
	case *types.TypeParam:
		return leaks(t.Constraint(), seen)
	case *types.Union:
		var out []string
		for i := 0; i < t.Len(); i++ {
			out = append(out, leaks(t.Term(i).Type(), seen)...)
		}
		return out
	}
	return nil
}

// check returns, for each exported name of pkg, the internal types it shows.
func check(pkg *types.Package) []string {
	var bad []string
	report := func(what string, found []string) {
		if len(found) > 0 {
			sort.Strings(found)
			bad = append(bad, fmt.Sprintf("%s.%s shows %s", pkg.Path(), what, strings.Join(found, ", ")))
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.TypeName:
			if obj.IsAlias() {
				report(name, leaks(obj.Type(), map[types.Type]bool{}))
				continue
			}
			named, ok := obj.Type().(*types.Named)
			if !ok {
				continue
			}
			report(name, leaks(named.Underlying(), map[types.Type]bool{}))
			// Every method a user can call, promoted ones included, and the embedded
			// fields that bring them.
			ms := types.NewMethodSet(types.NewPointer(named))
			for i := 0; i < ms.Len(); i++ {
				m := ms.At(i).Obj()
				if !m.Exported() {
					continue
				}
				found := leaks(m.Type(), map[types.Type]bool{})
				if recv := m.Type().(*types.Signature).Recv(); recv != nil {
					found = append(found, leaks(recv.Type(), map[types.Type]bool{})...)
				}
				report(name+"."+m.Name(), found)
			}
		default:
			report(name, leaks(obj.Type(), map[types.Type]bool{}))
		}
	}
	return bad
}

func TestNoInternalTypeInThePublicAPI(t *testing.T) {
	pkgs, files := exports(t)
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := files[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	var bad []string
	for _, path := range pkgs {
		pkg, err := imp.Import(path)
		require.NoError(t, err, path)
		bad = append(bad, check(pkg)...)
	}
	require.GreaterOrEqual(t, len(pkgs), 12, "go list found fewer public packages than the module has")
	require.Empty(t, bad, "exported API shows internal types users can't name: export them from a public package, or keep them unexported")
}

// The check finds what it is for: an alias of an internal type, an embedded internal type
// (its promoted methods), a function that returns one.
func TestTheCheckSeesAnInternalType(t *testing.T) {
	internal := types.NewPackage(module+"/internal/x", "x")
	script := types.NewNamed(types.NewTypeName(token.NoPos, internal, "Script", nil), types.NewStruct(nil, nil), nil)
	script.AddMethod(types.NewFunc(token.NoPos, internal, "Enter", types.NewSignatureType(
		types.NewVar(token.NoPos, internal, "s", types.NewPointer(script)), nil, nil, nil, nil, false)))

	pub := types.NewPackage(module+"/pub", "pub")
	scope := pub.Scope()
	scope.Insert(types.NewAlias(types.NewTypeName(token.NoPos, pub, "Clock", nil), script).Obj())
	fake := types.NewNamed(types.NewTypeName(token.NoPos, pub, "Fake", nil),
		types.NewStruct([]*types.Var{types.NewField(token.NoPos, pub, "Script", script, true)}, nil), nil)
	scope.Insert(fake.Obj())
	scope.Insert(types.NewFunc(token.NoPos, pub, "New", types.NewSignatureType(nil, nil, nil, nil,
		types.NewTuple(types.NewVar(token.NoPos, pub, "", types.NewPointer(script))), false)))
	hidden := types.NewNamed(types.NewTypeName(token.NoPos, pub, "Hidden", nil),
		types.NewStruct([]*types.Var{types.NewField(token.NoPos, pub, "s", script, false)}, nil), nil)
	scope.Insert(hidden.Obj())

	bad := strings.Join(check(pub), "\n")
	require.Contains(t, bad, "pub.Clock shows "+module+"/internal/x.Script")
	require.Contains(t, bad, "pub.Fake shows")
	require.Contains(t, bad, "pub.Fake.Enter shows")
	require.Contains(t, bad, "pub.New shows")
	require.NotContains(t, bad, "pub.Hidden", "an unexported field is not API")
}
