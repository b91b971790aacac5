package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestStartCPUProfileWritesProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatalf("startCPUProfile: %v", err)
	}
	stop()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// runtime/pprof writes a gzip-compressed protocol buffer.
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		t.Errorf("profile starts with % x, want the gzip header 1f 8b", data[:min(len(data), 4)])
	}
}

func TestStartCPUProfileMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "cpu.prof")
	if _, err := startCPUProfile(path); err == nil {
		t.Fatal("startCPUProfile in a missing directory: no error")
	}
}
