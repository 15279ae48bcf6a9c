// Command mklayer builds the secretsenv Lambda layer: dist/secretsenv-layer-amd64.zip and
// dist/secretsenv-layer-arm64.zip, each holding bin/secretsenv (static, CGO off, stripped,
// built with -tags lean) and the secretsenv-wrapper script, the layout Lambda unpacks
// under /opt. Run it with `make layer`.
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mklayer:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := os.MkdirAll("dist", 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mklayer")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(tmp, arch, "secretsenv")
		build := exec.Command("go", "build", "-tags", "lean,nethttpomithttp2", "-trimpath", "-ldflags=-s -w", "-o", bin, "./examples/secretsenv")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building for %s: %w", arch, err)
		}
		out := filepath.Join("dist", "secretsenv-layer-"+arch+".zip")
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
	}
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
