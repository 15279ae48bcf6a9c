package samdist

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"github.com/shipshape-dev/shipshape/internal/yamlnode"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const repo = "../../.."

// fakeELF is the header of a 64-bit little-endian executable for m: all that Machine reads.
func fakeELF(t *testing.T, m elf.Machine) []byte {
	t.Helper()
	var h elf.Header64
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	h.Type, h.Machine, h.Version, h.Ehsize = uint16(elf.ET_EXEC), uint16(m), uint32(elf.EV_CURRENT), 64
	var buf bytes.Buffer
	require.NoError(t, binary.Write(&buf, binary.LittleEndian, h))
	return buf.Bytes()
}

func write(t *testing.T, p string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o755))
}

func parse(t *testing.T, raw []byte) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	return yamlnode.Root(&doc)
}

// TestEveryTemplateOfEitherArchitectureDeploysThatArchitecturesBundles: every checked-in
// template, written for arm64 and for amd64, names only that architecture's bundles
// (dist/lambda/<arch>/<function>/, dist/layer/<arch>/) and deploys every function and layer
// as that architecture; its other local paths (state machines) still name the files beside
// the checked-in template. The checked-in template is the arm64 one.
func TestEveryTemplateOfEitherArchitectureDeploysThatArchitecturesBundles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repo, "examples", "*", "template.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 7)
	functions := 0
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		for _, a := range Arches {
			out, b, err := Render(repo, name, a)
			require.NoError(t, err, name)
			tpl := TemplatePath(a, name)
			resources := yamlnode.Field(parse(t, out), "Resources")
			require.NotNil(t, resources)
			for i := 0; i+1 < len(resources.Content); i += 2 {
				logical, res := resources.Content[i].Value, resources.Content[i+1]
				props := yamlnode.Field(res, "Properties")
				at := name + " " + string(a) + " " + logical
				resolve := func(key string) string {
					return path.Clean(path.Join(path.Dir(tpl), yamlnode.Scalar(yamlnode.Field(props, key))))
				}
				switch yamlnode.Scalar(yamlnode.Field(res, "Type")) {
				case "AWS::Serverless::Function":
					assert.Equal(t, []string{a.Lambda()}, values(yamlnode.Field(props, "Architectures")), at)
					if yamlnode.Field(props, "CodeUri") != nil {
						functions++
						got := resolve("CodeUri")
						assert.Equal(t, a, Arch(strings.Split(got, "/")[2]), at)
						assert.Equal(t, BundleDir(a, path.Base(got)), got, at)
						assert.Contains(t, b.Functions, path.Base(got), at)
						_, err := os.Stat(filepath.Join(repo, "examples", path.Base(got), "main.go"))
						assert.NoError(t, err, "%s: the bundle is built from examples/%s", at, path.Base(got))
					}
				case "AWS::Serverless::LayerVersion":
					assert.Equal(t, []string{a.Lambda()}, values(yamlnode.Field(props, "CompatibleArchitectures")), at)
					assert.Equal(t, LayerZip(a), resolve("ContentUri"), at)
					assert.True(t, b.Layer, at)
				case "AWS::Serverless::StateMachine":
					_, err := os.Stat(filepath.Join(repo, filepath.FromSlash(resolve("DefinitionUri"))))
					assert.NoError(t, err, at)
				}
			}
		}
	}
	assert.GreaterOrEqual(t, functions, 2*6, "every Lambda of the examples was seen at both architectures")
}

func values(n *yaml.Node) []string {
	var out []string
	if n != nil {
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
	}
	return out
}

// TestRenderRefusesATemplateThatCouldDeployTheWrongBuild: a checked-in template whose
// architecture a parameter chooses, whose bundle path names another architecture than it
// declares, or that names a path without an architecture, is refused.
func TestRenderRefusesATemplateThatCouldDeployTheWrongBuild(t *testing.T) {
	fn := func(props string) string {
		return "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" + props
	}
	for _, c := range []struct{ name, template, want string }{
		{"a parameter chooses the architecture", fn("      CodeUri: ../../dist/lambda/arm64/fn/\n      Architectures: [!Ref Architecture]\n"), "one literal value"},
		{"no architecture (Lambda's default is x86_64)", fn("      CodeUri: ../../dist/lambda/arm64/fn/\n"), "no Architectures"},
		{"the amd64 bundle deployed as arm64", fn("      CodeUri: ../../dist/lambda/amd64/fn/\n      Architectures: [arm64]\n"), "the amd64 bundle, but the template deploys it as arm64"},
		{"the arm64 bundle deployed as x86_64", fn("      CodeUri: ../../dist/lambda/arm64/fn/\n      Architectures: [x86_64]\n"), "the arm64 bundle, but the template deploys it as x86_64"},
		{"one path for every architecture", fn("      CodeUri: ../../bin/fn/\n      Architectures: [arm64]\n"), "one path per architecture"},
		{"a path SAM would not resolve", fn("      CodeUri: !Sub ../../dist/lambda/${Arch}/fn/\n      Architectures: [arm64]\n"), "SAM resolves no !Ref or !Sub"},
		{"two architectures", fn("      CodeUri: ../../dist/lambda/arm64/fn/\n      Architectures: [arm64, x86_64]\n"), "one literal value"},
		{"a layer for the other architecture", "Resources:\n  L:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: ../../dist/layer/amd64/secretsenv-layer.zip\n      CompatibleArchitectures: [arm64]\n", "the amd64 bundle"},
		{"globals", "Globals:\n  Function:\n    Architectures: [arm64]\nResources: {}\n", "Globals"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := render([]byte(c.template), "examples/fn/template.yaml", TemplatePath(AMD64, "fn"), AMD64)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestWriteReadsEveryBundlesELFMachine: a template is written only when every bundle it
// deploys is an executable of the architecture it deploys it as; a bundle of the other
// architecture, a missing one, a layer whose binary is of the other architecture, a function
// on a layer of the other architecture are refused, and the refused template is removed.
func TestWriteReadsEveryBundlesELFMachine(t *testing.T) {
	const fnTemplate = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ../../dist/lambda/arm64/fn/\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Architectures: [arm64]\n"
	setup := func(t *testing.T, bundles map[Arch]elf.Machine) string {
		r := t.TempDir()
		write(t, filepath.Join(r, "examples", "fn", "template.yaml"), []byte(fnTemplate))
		for a, m := range bundles {
			write(t, filepath.Join(r, filepath.FromSlash(BundleDir(a, "fn")), "bootstrap"), fakeELF(t, m))
		}
		return r
	}
	for _, a := range Arches {
		t.Run("the right machine for "+string(a), func(t *testing.T) {
			r := setup(t, map[Arch]elf.Machine{a: a.Machine()})
			p, err := Write(r, "fn", a)
			require.NoError(t, err)
			assert.Equal(t, TemplatePath(a, "fn"), p)
			require.NoError(t, Verify(filepath.Join(r, filepath.FromSlash(p))))
		})
	}
	t.Run("an amd64 build in the arm64 path", func(t *testing.T) {
		r := setup(t, map[Arch]elf.Machine{ARM64: elf.EM_X86_64, AMD64: elf.EM_X86_64})
		_, err := Write(r, "fn", ARM64)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is built for EM_X86_64, but the template deploys it as arm64")
		assert.NoFileExists(t, filepath.Join(r, filepath.FromSlash(TemplatePath(ARM64, "fn"))), "nothing deployable is left")
		_, err = Write(r, "fn", AMD64)
		assert.NoError(t, err, "the amd64 build in its own path is fine")
	})
	t.Run("an arm64 build in the amd64 path", func(t *testing.T) {
		r := setup(t, map[Arch]elf.Machine{AMD64: elf.EM_AARCH64})
		_, err := Write(r, "fn", AMD64)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is built for EM_AARCH64, but the template deploys it as x86_64")
	})
	t.Run("no bundle", func(t *testing.T) {
		r := setup(t, nil)
		_, err := Write(r, "fn", ARM64)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "make lambda ARCH=arm64 builds it")
	})
	t.Run("not an executable", func(t *testing.T) {
		r := setup(t, nil)
		write(t, filepath.Join(r, filepath.FromSlash(BundleDir(ARM64, "fn")), "bootstrap"), []byte("#!/bin/sh\nexec ./app\n"))
		_, err := Write(r, "fn", ARM64)
		require.Error(t, err)
	})

	const layerTemplate = "Resources:\n  Layer:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: ../../dist/layer/arm64/secretsenv-layer.zip\n      CompatibleArchitectures: [arm64]\n" +
		"  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      InlineCode: x\n      Runtime: python3.12\n      Architectures: [arm64]\n      Layers: [!Ref Layer]\n"
	layer := func(t *testing.T, a Arch, m elf.Machine) string {
		r := t.TempDir()
		write(t, filepath.Join(r, "examples", "layered", "template.yaml"), []byte(layerTemplate))
		p := filepath.Join(r, filepath.FromSlash(LayerZip(a)))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		require.NoError(t, err)
		zw := zip.NewWriter(f)
		for name, data := range map[string][]byte{"secretsenv-wrapper": []byte("#!/bin/sh\n"), "bin/secretsenv": fakeELF(t, m)} {
			w, err := zw.Create(name)
			require.NoError(t, err)
			_, err = w.Write(data)
			require.NoError(t, err)
		}
		require.NoError(t, zw.Close())
		require.NoError(t, f.Close())
		return r
	}
	t.Run("a layer of the right machine", func(t *testing.T) {
		_, err := Write(layer(t, AMD64, elf.EM_X86_64), "layered", AMD64)
		assert.NoError(t, err)
	})
	t.Run("a layer of the other machine", func(t *testing.T) {
		_, err := Write(layer(t, ARM64, elf.EM_X86_64), "layered", ARM64)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "bin/secretsenv is built for EM_X86_64")
	})
	t.Run("a function on a layer of the other architecture", func(t *testing.T) {
		r := layer(t, ARM64, elf.EM_AARCH64)
		p := filepath.Join(r, "t.yaml")
		write(t, p, []byte(strings.Replace(strings.ReplaceAll(layerTemplate, "../../dist/layer", "dist/layer"), "Architectures: [arm64]\n      Layers", "Architectures: [x86_64]\n      Layers", 1)))
		err := Verify(p)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "runs as x86_64 with the layer Layer built for arm64")
	})
}

func TestParseArch(t *testing.T) {
	for _, a := range Arches {
		got, err := ParseArch(string(a))
		require.NoError(t, err)
		assert.Equal(t, a, got)
	}
	_, err := ParseArch("x86_64")
	assert.ErrorContains(t, err, "amd64")
	_, err = ParseArch("")
	assert.Error(t, err)
	assert.Equal(t, "x86_64", AMD64.Lambda())
	assert.Equal(t, "arm64", ARM64.Lambda())
}
