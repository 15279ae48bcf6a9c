// Command mklayer builds the secretsenv Lambda layer for one architecture,
// dist/layer/<arch>/secretsenv-layer.zip, holding bin/secretsenv (static, CGO off, stripped,
// built with -tags lean) and the secretsenv-wrapper script, the layout Lambda unpacks under
// /opt; then it writes dist/templates/<arch>/secretsenv.yaml from
// examples/secretsenv/template.yaml, which deploys that zip (and the sample function) as
// <arch>, and checks the binary's ELF machine against it (scripts/internal/samdist). Run it
// with `make layer [ARCH=arm64|amd64]`.
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/shipshape-dev/shipshape/scripts/internal/samdist"
)

func main() {
	arch := flag.String("arch", string(samdist.ARM64), "the architecture: arm64 or amd64")
	flag.Parse()
	a, err := samdist.ParseArch(*arch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mklayer:", err)
		os.Exit(2)
	}
	if err := run(a); err != nil {
		fmt.Fprintln(os.Stderr, "mklayer:", err)
		os.Exit(1)
	}
}

func run(a samdist.Arch) error {
	out := filepath.FromSlash(samdist.LayerZip(a))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mklayer")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "secretsenv")
	build := exec.Command("go", "build", "-buildvcs=auto", "-tags", "lean,nethttpomithttp2", "-trimpath", "-ldflags=-s -w", "-o", bin, "./examples/secretsenv")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+string(a))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building for %s: %w", a, err)
	}
	if err := writeZip(out, map[string]string{
		"bin/secretsenv":     bin,
		"secretsenv-wrapper": "examples/secretsenv/layer/secretsenv-wrapper",
	}); err != nil {
		return err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return err
	}
	zst, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: binary %d bytes (%.2f MiB), zip %d bytes\n", out, st.Size(), float64(st.Size())/(1<<20), zst.Size())
	tpl, err := samdist.Write(".", "secretsenv", a)
	if err != nil {
		return err
	}
	fmt.Printf("%s: deploys it as %s\n", tpl, a.Lambda())
	return nil
}

// writeZip writes the files (name in the zip -> path on disk) with mode 0755 and a fixed
// time, so the same sources give the same zip.
func writeZip(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, name := range []string{"bin/secretsenv", "secretsenv-wrapper"} {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(files[name])
		if err != nil {
			return err
		}
		_, err = io.Copy(w, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
